/**
 * The fleet state as compose wires it: the records over the storage's state, the configs'
 * ETags, the view over both; and the metrics exposition that counts iot_devices{sync} from
 * the view at each scrape.
 */
import type { AppDeps } from "../../core/deps.js";
import { errorFields, type Logger } from "../../core/logger.js";
import type { OperationObserver } from "../../core/observer.js";
import type { StorageDriver } from "../../core/storage.js";
import { type ConfigEtags, createConfigEtags } from "./config-etags.js";
import { createFleetRecords, type FleetRecords } from "./fleet-records.js";
import { createFleetView, type FleetView } from "./fleet-view.js";

/** The fleet's part of AppDeps (kept here, with the capability, so src/core stays small). */
export interface Fleet {
  records: FleetRecords;
  etags: ConfigEtags;
  view: FleetView;
}

export function createFleet(options: {
  storage: StorageDriver;
  logger: Logger;
  observer: OperationObserver;
  track?: (settled: Promise<void>) => void;
}): Fleet {
  const { storage, logger, observer, track } = options;
  const records = createFleetRecords({ state: storage.state, logger, observer, track });
  const etags = createConfigEtags(storage);
  return { records, etags, view: createFleetView(etags, records) };
}

/** iot_devices{sync} is taken from the fleet view at each scrape; a view that fails leaves the last counts. */
export function withDeviceCounts(
  exposition: NonNullable<AppDeps["metrics"]>,
  fleet: AppDeps["fleet"],
  observer: OperationObserver,
  logger: Logger,
): NonNullable<AppDeps["metrics"]> {
  return async () => {
    try {
      observer.devicesCounted(await fleet.view.counts());
    } catch (error) {
      logger.warn("could not count devices for iot_devices; the last counts are shown", errorFields(error));
    }
    return exposition();
  };
}
