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
  /**
   * `{"devices": [...], "count": n}` serialised as UTF-8, sorted by MAC; only those in `sync`
   * when given. Bytes, not a string: a fleet's listing is megabytes, and encoding it again for
   * every request of an unchanged fleet was a tenth of a warm answer.
   */
  listJson(sync?: DeviceSync): Promise<{ body: Uint8Array; count: number }>;
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

/** A device's row as last built, with what it was built from (compared by identity). */
interface BuiltRow {
  configEtag: string | null;
  fetch: DeviceRecord["fetch"];
  report: DeviceRecord["report"];
  row: DeviceRow;
  json: string;
}

/**
 * Warm, a listing of 10,000 devices must cost little more than joining strings: the
 * configs' ETags come as one map while nothing changed (config-etags.ts), the sorted MACs
 * are kept while no MAC came or went, and each device's row and its JSON are kept while
 * its config ETag, fetch and report are the same objects (records replace them, never
 * change them).
 */
const encoder = new TextEncoder();

export function createFleetView(etags: ConfigEtags, records: FleetRecords): FleetView {
  const built = new Map<string, BuiltRow>();
  let sorted: { configs: ReadonlyMap<string, string>; devices: number; macs: string[] } | undefined;
  /** The last listing answered, kept while neither the configs nor the records changed. */
  let listed:
    | { configs: ReadonlyMap<string, string>; changes: number; sync?: DeviceSync; body: Uint8Array; count: number }
    | undefined;

  const rowOf = (mac: string, configEtag: string | null, record: DeviceRecord | undefined): BuiltRow => {
    const known = built.get(mac);
    if (known && known.configEtag === configEtag && known.fetch === record?.fetch && known.report === record?.report) {
      return known;
    }
    const row = deviceRow(mac, configEtag, record);
    const entry = { configEtag, fetch: record?.fetch, report: record?.report, row, json: JSON.stringify(row) };
    built.set(mac, entry);
    return entry;
  };

  /** Every device's row, sorted by MAC (synchronous: nothing changes while they are built). */
  const rowsOf = (configs: ReadonlyMap<string, string>, devices: ReadonlyMap<string, DeviceRecord>): BuiltRow[] => {
    // Devices are only ever added to the records, so their count says whether a MAC came.
    if (sorted?.configs !== configs || sorted.devices !== devices.size) {
      const macs = new Set(configs.keys());
      for (const mac of devices.keys()) macs.add(mac);
      sorted = { configs, devices: devices.size, macs: [...macs].sort() };
      // Rows of MACs gone (a config deleted from a device never seen) are not kept.
      if (built.size > sorted.macs.length) for (const mac of built.keys()) if (!macs.has(mac)) built.delete(mac);
    }
    return sorted.macs.map((mac) => rowOf(mac, configs.get(mac) ?? null, devices.get(mac)));
  };
  const inputs = () => Promise.all([etags.all(), records.devices()]);

  return {
    async listJson(sync) {
      const [configs, devices] = await inputs();
      const changes = records.changes();
      if (listed?.configs === configs && listed.changes === changes && listed.sync === sync) return listed;
      const all = rowsOf(configs, devices);
      const chosen = sync === undefined ? all : all.filter((entry) => entry.row.sync === sync);
      const body = encoder.encode(
        `{"devices":[${chosen.map((entry) => entry.json).join(",")}],"count":${chosen.length}}`,
      );
      listed = { configs, changes, sync, body, count: chosen.length };
      return listed;
    },
    async get(mac) {
      const [configEtag, devices] = await Promise.all([etags.of(mac), records.devices()]);
      const record = devices.get(mac);
      if (configEtag === null && record === undefined) return undefined;
      return deviceRow(mac, configEtag, record);
    },
    async counts() {
      const counts: Record<DeviceSync, number> = { unseen: 0, current: 0, behind: 0 };
      for (const entry of rowsOf(...(await inputs()))) counts[entry.row.sync]++;
      return counts;
    },
  };
}
