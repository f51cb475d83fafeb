/**
 * ISO 8601 timestamps as the contract reads them. `Date.parse` is not used on purpose: it
 * reads a timestamp without an offset as *local* time, while the contract (and the
 * original Python service) reads it as UTC.
 */

export interface ParsedTimestamp {
  /** Microseconds since the Unix epoch (a double holds these exactly for any real date). */
  epochMicros: number;
  /** The instant in ISO 8601, in UTC with an explicit `+00:00` offset. */
  utcIso: string;
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** Returns the parsed instant, or undefined when the text is not an accepted ISO 8601 timestamp. */
export function parseTimestamp(text: string): ParsedTimestamp | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = m[6] ? Number(m[6]) : 0;
  const micros = m[7] ? Number(m[7].padEnd(9, "0").slice(0, 6)) : 0;
  // Python's datetime, which the original service used, has no year 0.
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return undefined;
  let offsetMinutes = 0;
  if (m[9]) {
    const offH = Number(m[10]);
    const offM = Number(m[11]);
    if (offH > 23 || offM > 59) return undefined;
    offsetMinutes = (m[9] === "-" ? -1 : 1) * (offH * 60 + offM);
  }
  // Date.UTC maps years 0-99 to 1900+; setUTCFullYear keeps the year as written.
  const base = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  base.setUTCFullYear(year);
  const epochMs = base.getTime() - offsetMinutes * 60_000;
  if (!Number.isFinite(epochMs)) return undefined;
  const epochMicros = epochMs * 1000 + micros;
  const utc = new Date(epochMs);
  // An offset can push the instant out of four-digit years, which utcIso cannot spell.
  if (utc.getUTCFullYear() < 1 || utc.getUTCFullYear() > 9999) return undefined;
  const fraction = micros === 0 ? "" : `.${pad(micros, 6)}`;
  const utcIso = `${pad(utc.getUTCFullYear(), 4)}-${pad(utc.getUTCMonth() + 1)}-${pad(utc.getUTCDate())}T${pad(
    utc.getUTCHours(),
  )}:${pad(utc.getUTCMinutes())}:${pad(utc.getUTCSeconds())}${fraction}+00:00`;
  return { epochMicros, utcIso };
}

/** Seconds between the timestamp and `nowMs`, in absolute value. */
export function driftSeconds(parsed: ParsedTimestamp, nowMs: number): number {
  return Math.abs(parsed.epochMicros / 1_000_000 - nowMs / 1000);
}
