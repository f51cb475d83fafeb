/**
 * What one process knows of every device: the newest fetch and the newest report, from its
 * own traffic and from the records of others. Bounded: at most `maxDevices` MACs, so
 * records placed in storage by anyone, or reports for invented MACs, cannot grow memory
 * without end; past it, new MACs are left out (said once in the log) and known ones go on.
 */
import type { Logger } from "../../core/logger.js";
import type { Fetch, ReportRecord } from "./record-format.js";

/** Devices one process keeps in memory (and the fleet view lists) at most. */
export const MAX_DEVICES = 100_000;

export interface DeviceRecord {
  fetch?: Fetch;
  report?: ReportRecord;
}

export interface FleetMemory {
  readonly devices: ReadonlyMap<string, DeviceRecord>;
  /** Whether a new MAC can still be taken in. */
  hasRoom(mac: string): boolean;
  /** Keeps `fetch` when it is the device's newest; false when the device could not be taken in. */
  noteFetch(mac: string, fetch: Fetch): boolean;
  /** Keeps `record` when it is the device's newest report; false when the device could not be taken in. */
  noteReport(mac: string, record: ReportRecord): boolean;
}

export function createFleetMemory(logger: Logger, maxDevices = MAX_DEVICES): FleetMemory {
  const devices = new Map<string, DeviceRecord>();
  let warned = false;
  const recordOf = (mac: string): DeviceRecord | undefined => {
    const known = devices.get(mac);
    if (known) return known;
    if (devices.size >= maxDevices) {
      if (!warned) {
        warned = true;
        logger.warn("the fleet record is full: devices not yet known are left out until the server restarts", {
          max_devices: maxDevices,
        });
      }
      return undefined;
    }
    const record: DeviceRecord = {};
    devices.set(mac, record);
    return record;
  };
  return {
    devices,
    hasRoom: (mac) => devices.has(mac) || devices.size < maxDevices,
    noteFetch(mac, fetch) {
      const record = recordOf(mac);
      if (!record) return false;
      if (!record.fetch || record.fetch.at <= fetch.at) record.fetch = fetch;
      return true;
    },
    noteReport(mac, report) {
      const record = recordOf(mac);
      if (!record) return false;
      if (!record.report || record.report.at <= report.at) record.report = report;
      return true;
    },
  };
}
