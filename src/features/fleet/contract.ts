/**
 * What the server knows of each device (SPEC "Devices" → "What devices fetched and
 * report"): the ETag it last fetched, what it last reported, and when it was last seen.
 * Routes and plugins record through `FleetRecorder`; the fleet view reads `DeviceRow`s.
 * The implementation (fleet-records.ts) keeps fetches in memory and writes them in
 * batches; reports are durable before their answer.
 */

export const REPORT_STATES = ["ok", "updating", "failed"] as const;
export type ReportState = (typeof REPORT_STATES)[number];

/** A device's status report, as validated by report-body.ts (unknown fields already dropped). */
export interface DeviceReport {
  state: ReportState;
  /** The ETag of the config the device applied, quotes included (report-body.ts adds them when left out). */
  config_etag?: string;
  firmware_version?: string;
  message?: string;
}

export interface FleetRecorder {
  /**
   * A device read its config (200 or 304) and now holds `etag` (quotes included). Memory
   * only: the read path pays no I/O; storage sees it within the flush interval.
   */
  fetched(mac: string, etag: string): void;
  /** A valid report from `mac`: in storage before the promise resolves (a 204 survives kill -9). */
  reported(mac: string, report: DeviceReport): Promise<void>;
}

export const DEVICE_SYNC = ["unseen", "current", "behind"] as const;
export type DeviceSync = (typeof DEVICE_SYNC)[number];

/** One device in GET /api/devices, exactly the fields of SPEC. */
export interface DeviceRow {
  mac_address: string;
  config_etag: string | null;
  fetched_etag: string | null;
  applied_etag: string | null;
  firmware_version: string | null;
  state: ReportState | null;
  message: string | null;
  /** ISO 8601 UTC of the last read or report; null when never seen. */
  last_seen: string | null;
  sync: DeviceSync;
}
