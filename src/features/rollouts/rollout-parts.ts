/**
 * The part records of a wave, `w<wave 2 digits>-<part 4 digits>` in the rollout's namespace:
 * each device's previous content and ETag and the ETag the rollout writes, stored BEFORE any
 * of those devices' configs is saved, so that a rollback always has what to restore and a
 * process resuming a release knows what was meant. Parts are created once (create-only) and
 * cover the wave's devices in order; a part ends at PART_DEVICES devices or PART_BYTES of
 * previous content, whichever comes first, so a record stays far under the store's limit.
 * Read back, every row is checked (MAC, ETag form, types, the devices it must cover) and the
 * part must name the wave's claim: a part placed by others is undefined, and its devices are
 * then neither released nor restored by it.
 */
import { isMac } from "../../core/names.js";
import { jsonBytes, MAX_STATE_VALUE_BYTES, parseJsonRecord } from "../../core/state.js";

export const PART_DEVICES = 500;
/** Previous content of one part at most (a config is at most MAX_CONFIG_BYTES: a part may hold fewer devices). */
export const PART_BYTES = 4 * 1024 * 1024;
const PART_KEY = /^w([0-9]{2})-([0-9]{4})$/;
const ETAG = /^"[0-9a-f]{64}"$/;
const MAX_ERROR_CHARS = 300;

export const partKey = (wave: number, part: number) =>
  `w${String(wave).padStart(2, "0")}-${String(part).padStart(4, "0")}`;
export function parsePartKey(key: string): { wave: number; part: number } | undefined {
  const match = PART_KEY.exec(key);
  return match ? { wave: Number(match[1]), part: Number(match[2]) } : undefined;
}

export interface PartRow {
  mac: string;
  previous: Record<string, unknown> | null;
  previous_etag: string | null;
  /** What the rollout writes (quotes included, as a device read answers); null when it could not release. */
  etag: string | null;
  /** Why the device could not be released (it then counts failed). */
  error?: string;
}

/** `claim`: the seq of the wave's `release` event, so a part placed before or apart from that claim is not taken for one. */
export const encodePart = (claim: number, rows: PartRow[]) => jsonBytes({ claim, rows });

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function checkRow(row: unknown): row is PartRow {
  if (!isObject(row) || typeof row.mac !== "string" || !isMac(row.mac)) return false;
  const { previous, previous_etag: before, etag, error } = row;
  if (previous !== null && !isObject(previous)) return false;
  if (before !== null && !(typeof before === "string" && ETAG.test(before))) return false;
  if (etag !== null && !(typeof etag === "string" && ETAG.test(etag))) return false;
  if (error !== undefined && !(typeof error === "string" && error.length <= MAX_ERROR_CHARS)) return false;
  // Released rows have both ETags and the content to restore; rows that could not be released say why.
  return etag !== null ? previous !== null && before !== null && error === undefined : typeof error === "string";
}

/**
 * The rows of a part, or undefined when the record is damaged. `expected`: the MACs this part
 * must cover from its start (the wave's devices not covered by earlier parts): a part that
 * names other devices, or more of them, is not the engine's.
 */
export function decodePart(
  bytes: Uint8Array | null,
  expected: readonly string[],
  claim: number,
): PartRow[] | undefined {
  if (!bytes || bytes.byteLength > MAX_STATE_VALUE_BYTES) return undefined;
  const value = parseJsonRecord(bytes);
  if (!isObject(value) || value.claim !== claim || !Array.isArray(value.rows)) return undefined;
  const rows = value.rows as unknown[];
  if (rows.length === 0 || rows.length > Math.min(PART_DEVICES, expected.length)) return undefined;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (!checkRow(row) || row.mac !== expected[i]) return undefined;
  }
  return rows as PartRow[];
}

/** Strips a strong ETag's quotes (reports and fetches carry them; some firmware sends the bare hash). */
export const bareEtag = (etag: string | null | undefined): string | undefined =>
  etag == null ? undefined : etag.replace(/^"(.*)"$/, "$1");
