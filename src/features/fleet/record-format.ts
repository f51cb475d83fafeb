/**
 * How fleet records are named and written in the state store (core/state.ts), and read
 * back. Two namespaces:
 * - `device-fetches`: one record per process, key `<process id>.<ms>`, value
 *   `{"fetches": {"<mac>": ["<etag>", <ms>], ...}}`: everything that process saw devices
 *   fetch. A process rewrites it under a new key and deletes its previous one, so a
 *   listing alone shows that something changed.
 * - `device-reports`: one record per report, key `<mac>.<ms>`, value `{"report", "at"}`.
 * Records may have been placed by anyone who can write STATE_DIR (or the bucket): every
 * read checks names, types, lengths and times, and treats anything else as damaged —
 * skipped, never trusted, never fatal.
 */
import { isMac } from "../../core/names.js";
import { jsonBytes, parseJsonRecord } from "../../core/state.js";
import type { DeviceReport } from "./contract.js";
import { checkReport, MAX_ETAG_CHARS } from "./report-body.js";

export const FETCHES_NAMESPACE = "device-fetches";
export const REPORTS_NAMESPACE = "device-reports";

/** A time further ahead than this (another host's clock, or a forged record) is not believed. */
const FUTURE_SLACK_MS = 10 * 60 * 1000;
/** A report record is a few hundred bytes; anything much larger under a report's key is not one. */
export const MAX_REPORT_RECORD_BYTES = 8 * 1024;

export interface Fetch {
  etag: string;
  /** ms since the epoch */
  at: number;
}

export interface ReportRecord {
  report: DeviceReport;
  at: number;
}

const FETCH_KEY = /^([0-9a-f]{32})\.(\d{13})$/;
const REPORT_KEY = /^([0-9a-f]{2}(?:-[0-9a-f]{2}){5})\.(\d{13})$/;
const ETAG = /^"[\x21\x23-\x7e]{1,128}"$/;

export const fetchKey = (processId: string, at: number) => `${processId}.${at}`;
export const reportKey = (mac: string, at: number) => `${mac}.${at}`;

export function parseFetchKey(key: string): { processId: string; at: number } | undefined {
  const match = FETCH_KEY.exec(key);
  return match ? { processId: match[1] as string, at: Number(match[2]) } : undefined;
}

export function parseReportKey(key: string): { mac: string; at: number } | undefined {
  const match = REPORT_KEY.exec(key);
  return match ? { mac: match[1] as string, at: Number(match[2]) } : undefined;
}

const believable = (at: unknown, now: number): at is number =>
  typeof at === "number" && Number.isSafeInteger(at) && at > 0 && at <= now + FUTURE_SLACK_MS;

export function encodeFetches(fetches: ReadonlyMap<string, Fetch>): Uint8Array {
  const out: Record<string, [string, number]> = {};
  for (const [mac, { etag, at }] of fetches) out[mac] = [etag, at];
  return jsonBytes({ fetches: out });
}

/**
 * The fetches of a batch record, each checked; at most `limit` of them. Undefined when the
 * record as a whole is not one (not JSON, not the shape); a bad entry alone is skipped.
 */
export function decodeFetches(bytes: Uint8Array | null, now: number, limit: number): Map<string, Fetch> | undefined {
  const value = parseJsonRecord(bytes) as { fetches?: unknown } | null;
  const fetches = value?.fetches;
  if (typeof fetches !== "object" || fetches === null || Array.isArray(fetches)) return undefined;
  const out = new Map<string, Fetch>();
  for (const [mac, entry] of Object.entries(fetches)) {
    if (out.size >= limit) break;
    if (!isMac(mac) || !Array.isArray(entry) || entry.length !== 2) continue;
    const [etag, at] = entry as [unknown, unknown];
    if (typeof etag !== "string" || etag.length > MAX_ETAG_CHARS || !ETAG.test(etag) || !believable(at, now)) continue;
    out.set(mac, { etag, at });
  }
  return out;
}

export const encodeReport = (record: ReportRecord): Uint8Array => jsonBytes(record);

/** The report of a record under `key`, or undefined when it is damaged or is not what its key says. */
export function decodeReport(bytes: Uint8Array | null, keyAt: number, now: number): ReportRecord | undefined {
  if (!bytes || bytes.byteLength > MAX_REPORT_RECORD_BYTES) return undefined;
  const value = parseJsonRecord(bytes) as { report?: unknown; at?: unknown } | null;
  if (!value || typeof value !== "object" || value.at !== keyAt || !believable(value.at, now)) return undefined;
  // The same check as a report arriving over HTTP or MQTT: a record is believed no more than a device.
  const checked = checkReport(value.report);
  return checked.ok ? { report: checked.report, at: keyAt } : undefined;
}
