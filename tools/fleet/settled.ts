/**
 * Which of a device's recorded events answer the driver's save and upload, and whether
 * the device is done: the one reading of a DeviceRecord shared by the groups (which wait
 * on it) and the report (which times it).
 */
import type { DeviceRecord } from "./device.js";

export interface Timed {
  sentAt: number;
  respondedAt: number;
  ok: boolean;
}

export type Upload = Timed & { filename: string };

/**
 * The fetch that answers this device's save: the first one started after it that did not
 * find the config absent (a check after a reconnect may run before the save has landed).
 */
export const configFetchFor = (record: DeviceRecord, save: Timed) =>
  save.ok ? record.fetches.find((f) => f.startedAt >= save.sentAt && f.outcome !== 404) : undefined;

/** The firmware header read that answers the upload's notification. */
export const headerReadFor = (record: DeviceRecord, upload: Upload | undefined) =>
  upload?.ok
    ? record.headerReads.find((r) => r.filename === upload.filename && r.startedAt >= upload.sentAt)
    : undefined;

/** The status report sent for the config that fetch brought (the device sends it right after). */
export const reportFor = (record: DeviceRecord, fetch: DeviceRecord["fetches"][number]) =>
  record.reports.find((r) => r.startedAt >= fetch.doneAt);

/** Nothing more will happen for this device: it converged, or something it needed failed. */
export function isSettled(
  record: DeviceRecord,
  connected: boolean,
  save: Timed,
  upload: Upload | undefined,
  reporting: boolean,
): boolean {
  if (!connected) return true;
  const fetch = configFetchFor(record, save);
  const configSettled = !save.ok || fetch !== undefined;
  // Only a 200 brings a config to apply and report; after a 304 the device had reported it already.
  const reportSettled = !reporting || fetch?.outcome !== 200 || reportFor(record, fetch) !== undefined;
  const firmwareSettled = !upload?.ok || headerReadFor(record, upload) !== undefined;
  return configSettled && reportSettled && firmwareSettled;
}
