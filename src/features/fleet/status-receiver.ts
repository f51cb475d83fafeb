/**
 * The one receiver of status messages that arrive through a sink (core/sinks/status-reports.ts;
 * MQTT: `iotsupport/status/<mac>`): the device must be a MAC, the payload at most
 * MAX_REPORT_BYTES and a report as report-body.ts checks it (the same check as over HTTP);
 * then it is recorded and counted by its state. Anything else is counted as `invalid` and
 * logged at most once per device and minute.
 *
 * A message is hostile until checked: nothing of its payload is ever logged (only the MAC,
 * the field at fault and the length), a topic that is not a MAC is not logged at all, and
 * the memory kept for the logs' limit is bounded whatever arrives (log-limit below).
 * The receiver never throws and never rejects: a failure to record is logged and counted.
 */
import { errorFields, type Logger } from "../../core/logger.js";
import { isMac } from "../../core/names.js";
import type { OperationObserver } from "../../core/observer.js";
import type { NotificationSink } from "../../core/sinks/contract.js";
import { reportSourceOf, type StatusMessage, type StatusReceiver } from "../../core/sinks/status-reports.js";
import type { FleetRecorder } from "./contract.js";
import { MAX_REPORT_BYTES, parseReport } from "./report-body.js";

/** A device's malformed messages are logged once in this interval (SPEC: once per device and minute). */
export const LOG_INTERVAL_MS = 60_000;
/** Devices whose last warning is remembered; past it, the others share one budget. */
export const MAX_LOGGED_DEVICES = 10_000;

/** Keys that are not MACs: the budgets shared by everything they stand for. */
const NOT_A_MAC = "(topic not a MAC)";
const OTHER_DEVICES = "(devices beyond the limit)";
const RECORDING = "(recording)";

export interface StatusReceiverOptions {
  recorder: Pick<FleetRecorder, "reported">;
  observer: Pick<OperationObserver, "deviceStatusReport">;
  logger: Logger;
  /** The sink the messages come through, for the logs ("mqtt"). */
  via: string;
  now?: () => number;
  maxLoggedDevices?: number;
}

/**
 * Whether a key may log now. Entries are kept in the order they logged, so the expired ones
 * are at the front and are dropped from there: each call costs O(1) amortised, and the map
 * never holds more than `max` keys, however many distinct devices a flood names (past it,
 * new keys share one budget).
 */
export function createLogLimit(max: number, intervalMs: number, now: () => number) {
  const last = new Map<string, number>();
  return {
    allow(key: string): boolean {
      const t = now();
      for (const [expired, at] of last) {
        if (t - at < intervalMs) break;
        last.delete(expired);
      }
      const counted = last.has(key) || last.size < max - 1 ? key : OTHER_DEVICES;
      if (last.has(counted)) return false;
      last.set(counted, t);
      return true;
    },
    /** How many keys are remembered (for tests of the bound). */
    size: () => last.size,
  };
}

export function createStatusReceiver(options: StatusReceiverOptions): StatusReceiver {
  const { recorder, observer, logger, via } = options;
  const now = options.now ?? Date.now;
  const limit = createLogLimit(options.maxLoggedDevices ?? MAX_LOGGED_DEVICES, LOG_INTERVAL_MS, now);
  const refuse = (key: string, fields: Record<string, unknown>) => {
    observer.deviceStatusReport("invalid");
    if (limit.allow(key)) logger.warn("refused a device's status message", { via, ...fields });
  };

  return async function receiveStatusMessage({ device: level, payload }: StatusMessage): Promise<void> {
    // Firmware may print its MAC in upper case; the HTTP route takes either case too.
    const device = level.toLowerCase();
    try {
      if (!isMac(device)) {
        // The topic level is hostile text: only its length is said, and all such topics share one budget.
        refuse(NOT_A_MAC, { field: "topic", reason: "not a MAC address", device_length: device.length });
        return;
      }
      if (payload.byteLength > MAX_REPORT_BYTES) {
        refuse(device, {
          mac: device,
          field: "body",
          reason: `over ${MAX_REPORT_BYTES} bytes`,
          length: payload.byteLength,
        });
        return;
      }
      const checked = parseReport(payload);
      if (!checked.ok) {
        // The check's message is ours ("state must be one of …"); it never repeats the payload.
        refuse(device, { mac: device, field: checked.field, reason: checked.message, length: payload.byteLength });
        return;
      }
      try {
        await recorder.reported(device, checked.report);
      } catch (error) {
        // Not recorded, so not counted under its state: counted with the refused ones, logged once a minute.
        observer.deviceStatusReport("invalid");
        if (limit.allow(RECORDING)) {
          logger.error("could not record a device's status report", { via, mac: device, ...errorFields(error) });
        }
        return;
      }
      observer.deviceStatusReport(checked.report.state);
    } catch (error) {
      // Unreachable unless an observer or logger throws: still never a rejection.
      logger.error("status message handling failed", { via, ...errorFields(error) });
    }
  };
}

/**
 * Attaches a receiver to the sink when it declares the capability (MQTT_STATUS_TOPICS=true);
 * true when it did. Every runtime's composition calls this once its recorder exists.
 */
export function attachStatusReports(sink: NotificationSink, options: Omit<StatusReceiverOptions, "via">): boolean {
  const source = reportSourceOf(sink);
  source?.statusReports(createStatusReceiver({ ...options, via: sink.name }));
  return source !== undefined;
}
