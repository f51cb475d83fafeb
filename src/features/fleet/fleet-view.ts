/**
 * The fleet view (SPEC "What devices fetched and report"): every MAC that has a config or
 * has been seen, as DeviceRow, from the config ETags (config-etags.ts) and the records
 * (fleet-records.ts). Deleting a config removes only its ETag: what is known of the
 * device stays.
 */

import type { ConfigEtags } from "./config-etags.js";
import type { DeviceRow, DeviceSync } from "./contract.js";
import type { DeviceRecord } from "./fleet-memory.js";
import type { FleetRecords } from "./fleet-records.js";

export interface FleetView {
  /** Sorted by MAC; only those in `sync` when given. */
  list(sync?: DeviceSync): Promise<DeviceRow[]>;
  /** One device, or undefined when it has neither a config nor a record. */
  get(mac: string): Promise<DeviceRow | undefined>;
  /** Devices in each sync state; they add up to the device count. */
  counts(): Promise<Record<DeviceSync, number>>;
}

/** One device's row: what its config is, what it last fetched or confirmed, what it last reported. */
export function deviceRow(mac: string, configEtag: string | null, record: DeviceRecord | undefined): DeviceRow {
  const fetch = record?.fetch;
  const last = record?.report;
  const report = last?.report;
  // The latest of "fetched it" and "said it applied it", by time.
  const confirmed =
    report?.config_etag !== undefined && (fetch === undefined || (last as { at: number }).at >= fetch.at)
      ? report.config_etag
      : fetch?.etag;
  const seenAt = Math.max(fetch?.at ?? 0, last?.at ?? 0);
  // A report that names its config says what the device runs; without one, its last fetch does.
  const holds = report?.config_etag ?? fetch?.etag;
  const sync: DeviceSync =
    fetch === undefined && last === undefined ? "unseen" : holds === configEtag ? "current" : "behind";
  return {
    mac_address: mac,
    config_etag: configEtag,
    fetched_etag: confirmed ?? null,
    applied_etag: report?.config_etag ?? null,
    firmware_version: report?.firmware_version ?? null,
    state: report?.state ?? null,
    message: report?.message ?? null,
    last_seen: seenAt > 0 ? new Date(seenAt).toISOString() : null,
    sync,
  };
}

export function createFleetView(etags: ConfigEtags, records: FleetRecords): FleetView {
  const rows = async (): Promise<DeviceRow[]> => {
    const [configs, devices] = await Promise.all([etags.all(), records.devices()]);
    const macs = new Set(configs.keys());
    for (const mac of devices.keys()) macs.add(mac);
    return [...macs].sort().map((mac) => deviceRow(mac, configs.get(mac) ?? null, devices.get(mac)));
  };
  return {
    async list(sync) {
      const all = await rows();
      return sync === undefined ? all : all.filter((row) => row.sync === sync);
    },
    async get(mac) {
      const [configEtag, devices] = await Promise.all([etags.of(mac), records.devices()]);
      const record = devices.get(mac);
      if (configEtag === null && record === undefined) return undefined;
      return deviceRow(mac, configEtag, record);
    },
    async counts() {
      const counts: Record<DeviceSync, number> = { unseen: 0, current: 0, behind: 0 };
      for (const row of await rows()) counts[row.sync]++;
      return counts;
    },
  };
}
