/**
 * The rollouts as compose wires them: the engine over the storage's state, the configs, the
 * notifier and the fleet records, counting device outcomes through the observer; and the
 * metrics exposition that sets iot_rollouts{state} from the engine at each scrape.
 */
import type { AppDeps } from "../../core/deps.js";
import type { AppError } from "../../core/errors.js";
import { errorFields } from "../../core/logger.js";
import type { Settings } from "../../core/settings.js";
import { withDeviceCounts } from "../fleet/assemble.js";
import type { Rollouts } from "./contract.js";
import { createRollouts, type RolloutsOptions } from "./engine.js";
import { mergePatch } from "./merge-patch.js";

export function createRolloutsFor(
  deps: Pick<AppDeps, "storage" | "configs" | "notifier" | "observer" | "logger" | "fleet"> & {
    settings: Pick<Settings, "maxConfigBytes">;
    track?: (settled: Promise<void>) => void;
    /**
     * Who releases waves (RolloutsOptions.driver); `{ unavailable }`: nobody can here (a Worker
     * without its rollout driver's binding), so every rollouts route answers that error, while
     * the metrics still count what the storage holds.
     */
    rolloutDriver?: RolloutsOptions["driver"] | { unavailable: AppError };
  },
): Rollouts {
  const { observer, rolloutDriver: driver } = deps;
  const refused = typeof driver === "object" && "unavailable" in driver ? driver.unavailable : undefined;
  const releasing = typeof driver === "object" && "unavailable" in driver ? undefined : driver;
  const engine = createRollouts({
    state: deps.storage.state,
    storage: deps.storage,
    configs: deps.configs,
    notifier: deps.notifier,
    observer,
    logger: deps.logger,
    maxConfigBytes: deps.settings.maxConfigBytes,
    mergePatch,
    records: deps.fleet.records,
    counted: (outcome, devices) => {
      if (devices > 0) observer.rolloutDeviceOutcomes(outcome, devices);
    },
    track: deps.track,
    driver: releasing,
  });
  return refused ? refusing(engine, refused) : engine;
}

/** The API refused with `error`; ticks do nothing (there is no driver); counts read the storage as ever. */
function refusing(engine: Rollouts, error: AppError): Rollouts {
  const refuse = async (): Promise<never> => {
    throw error;
  };
  return {
    create: refuse,
    list: refuse,
    get: refuse,
    act: refuse,
    tick: async () => {},
    active: async () => false,
    counts: () => engine.counts(),
    close: () => engine.close(),
  };
}

/**
 * iot_rollouts{state} is taken from the engine at each scrape, as iot_devices{sync} is from the
 * fleet view (withDeviceCounts); a failure leaves the last counts.
 */
export function withFleetCounts(
  exposition: NonNullable<AppDeps["metrics"]>,
  { fleet, rollouts, observer, logger }: Pick<AppDeps, "fleet" | "rollouts" | "observer" | "logger">,
): NonNullable<AppDeps["metrics"]> {
  const withDevices = withDeviceCounts(exposition, fleet, observer, logger);
  return async () => {
    try {
      observer.rolloutsCounted(await rollouts.counts());
    } catch (error) {
      logger.warn("could not count rollouts for iot_rollouts; the last counts are shown", errorFields(error));
    }
    return withDevices();
  };
}
