/**
 * Status reports on Workers (MQTT_STATUS_TOPICS=true): the notification hub owns the one
 * broker connection, so it is the hub that subscribes, and it records each report through a
 * FleetRecorder over the Worker's R2 state records (plugins/storage/r2-state.ts), where every
 * isolate reads them.
 *
 * A Durable Object runs only when called: an isolate wakes the hub on its first request
 * (`wake`), and while it receives, the hub keeps an alarm set (RECEIVING_ALARM_MS) so that it
 * stays running, and starts again after an eviction or a restart, subscribed again.
 */
import type { DurableObjectStorage, R2Bucket } from "@cloudflare/workers-types/2023-07-01/index.js";
import { errorFields, type Logger } from "../core/logger.js";
import type { OperationObserver } from "../core/observer.js";
import { type Env, parseSettings } from "../core/setting-spec.js";
import type { NotificationSink } from "../core/sinks/contract.js";
import type { StateStore } from "../core/state.js";
import type { FleetRecorder } from "../features/fleet/contract.js";
import { createFleetRecords } from "../features/fleet/fleet-records.js";
import { attachStatusReports } from "../features/fleet/status-receiver.js";
import { MQTT_SETTINGS } from "../plugins/sinks/mqtt-settings.js";
import { createR2State } from "../plugins/storage/r2-state.js";

/** How the hub gets the recorder it records reports through, from the Worker's state records. */
export type HubRecorderFactory = (state: StateStore, logger: Logger) => Pick<FleetRecorder, "reported">;

/**
 * The recorder the hub uses: the fleet records over the Worker's R2 state, the same every
 * isolate reads. The hub only records reports (its fetch batch stays empty); the storage
 * writes it makes are not in the isolates' iot_device_record_writes_total.
 */
export const hubRecorder: HubRecorderFactory = (state, logger) =>
  createFleetRecords({ state, logger, observer: { deviceRecordWrite() {} } });

/** While receiving, the hub's alarm fires at least this often (a Durable Object with no event is evicted). */
export const RECEIVING_ALARM_MS = 30_000;

/** Whether the Worker's settings ask the hub to receive status reports (checked at boot by the MQTT plugin). */
export const hubReceives = (vars: Env): boolean => parseSettings(MQTT_SETTINGS, vars).MQTT_STATUS_TOPICS === true;

export interface HubReportsOptions {
  /** The hub's sink, as wrapped by its metrics decorator (which passes the capability through). */
  sink: NotificationSink;
  bucket: R2Bucket | undefined;
  observer: OperationObserver;
  logger: Logger;
  recorder?: HubRecorderFactory;
}

/** Attaches the receiver when the sink receives; true when it does. */
export function startHubReports(options: HubReportsOptions): boolean {
  const { sink, bucket, observer, logger } = options;
  const make = options.recorder ?? hubRecorder;
  let recorder: Pick<FleetRecorder, "reported"> | undefined;
  // The bucket is only asked for when the sink really receives (the isolates refuse to boot without it).
  const lazily: Pick<FleetRecorder, "reported"> = {
    reported(mac, report) {
      if (!bucket) return Promise.reject(new Error("R2 bucket binding BUCKET is missing"));
      recorder ??= make(createR2State(bucket), logger);
      return recorder.reported(mac, report);
    },
  };
  return attachStatusReports(sink, { recorder: lazily, observer, logger });
}

/** Sets the keep-alive alarm unless one (the queue's, sooner) is already set. Never rejects. */
export async function keepReceiving(
  storage: Pick<DurableObjectStorage, "getAlarm" | "setAlarm">,
  logger: Logger,
): Promise<void> {
  try {
    if ((await storage.getAlarm()) === null) await storage.setAlarm(Date.now() + RECEIVING_ALARM_MS);
  } catch (error) {
    logger.error("could not set the notification hub's alarm; it may stop receiving until its next call", {
      ...errorFields(error),
    });
  }
}
