/**
 * Storage writes for read records, from the server's /metrics
 * (iot_device_record_writes_total{kind}), read before the first save and after the
 * fleet view showed every device current. SPEC allows at most one per device per 10 s
 * however often devices read; a run of T seconds may span ⌊T/10⌋ + 1 of the server's
 * 10-second flushes, so that many per device is the bound the figure is held to.
 */

const METRIC = "iot_device_record_writes_total";
/**
 * The kind that counts writes of read records: one per flush of a process's batch of device
 * reads (kind "reports" counts status reports, each durable on its own and not bounded).
 */
export const READ_RECORD_KINDS = ["fetches"];
const FLUSH_SECONDS = 10;

export interface RecordWrites {
  /** Writes of read records during the window. */
  writes: number;
  windowSeconds: number;
  /** writes / (devices × (⌊window/10⌋ + 1)): at most 1 is within SPEC. */
  perDevicePer10s: number;
}

/** Every kind's count, or undefined when the text has no such metric (an older server, or no metrics). */
export function parseRecordWrites(text: string | undefined): Record<string, number> | undefined {
  if (text === undefined) return undefined;
  const counts: Record<string, number> = {};
  let found = false;
  for (const line of text.split("\n")) {
    // Declared but with no sample yet (nothing written since boot) is a count of 0, not "unknown".
    if (line.startsWith(`# TYPE ${METRIC} `)) found = true;
    if (!line.startsWith(`${METRIC}{`) && !line.startsWith(`${METRIC} `)) continue;
    found = true;
    const match = /kind="([^"]*)"\}\s+(\S+)/.exec(line);
    if (match) counts[match[1] as string] = Number(match[2]);
  }
  return found ? counts : undefined;
}

export function recordWritesBetween(
  before: Record<string, number> | undefined,
  after: Record<string, number> | undefined,
  devices: number,
  windowSeconds: number,
): RecordWrites | undefined {
  if (!before || !after) return undefined;
  const reads = (counts: Record<string, number>) =>
    READ_RECORD_KINDS.reduce((sum, kind) => sum + (counts[kind] ?? 0), 0);
  const writes = reads(after) - reads(before);
  const windows = Math.floor(windowSeconds / FLUSH_SECONDS) + 1;
  return {
    writes,
    windowSeconds: Math.round(windowSeconds * 10) / 10,
    // Not rounded: the bound is checked on this value (1.003 is over it); format.ts rounds for people.
    perDevicePer10s: writes / (devices * windows),
  };
}
