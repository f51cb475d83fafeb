/**
 * How long a busy server asks us to wait (RFC 9110 §10.2.3): `Retry-After` as
 * delay-seconds or as an HTTP-date. Whatever it asks, we wait at most
 * MAX_RETRY_AFTER_SECONDS: a build must not hang for a day because a server (or
 * something pretending to be one) said so, and setTimeout fires at once when given
 * more than about 24.8 days, which would turn a huge wait into a retry storm.
 * Anything unparsable counts as absent, so the caller's default applies.
 */

export const MAX_RETRY_AFTER_SECONDS = 300;

export interface RetryAfter {
  /** What we will wait, 0 to MAX_RETRY_AFTER_SECONDS. */
  seconds: number;
  /** The server asked for more than MAX_RETRY_AFTER_SECONDS. */
  capped: boolean;
}

const DAYS = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAYS = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTH = `(${MONTHS.join("|")})`;
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
/** IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT` (what servers send). */
const IMF_FIXDATE = new RegExp(`^${DAYS}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** The obsolete forms recipients must still accept: RFC 850 and asctime. */
const RFC_850 = new RegExp(`^${LONG_DAYS}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^${DAYS} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

export function parseRetryAfter(header: string | null, nowMs: number): RetryAfter | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  // Number() of a long digit string is finite or Infinity, never NaN; either way it is capped.
  const asked = /^\d+$/.test(text) ? Number(text) : secondsUntil(httpDate(text, nowMs), nowMs);
  if (asked === undefined) return undefined;
  return { seconds: Math.min(asked, MAX_RETRY_AFTER_SECONDS), capped: asked > MAX_RETRY_AFTER_SECONDS };
}

const secondsUntil = (atMs: number | undefined, nowMs: number) =>
  atMs === undefined ? undefined : Math.max(0, Math.ceil((atMs - nowMs) / 1000));

/** An HTTP-date in any of its three forms → milliseconds since the epoch, or undefined. */
export function httpDate(text: string, nowMs: number): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(Number(m[3]), m[2], m[1], [m[4], m[5], m[6]]);
  m = RFC_850.exec(text);
  if (m) return utc(fullYear(Number(m[3]), nowMs), m[2], m[1], [m[4], m[5], m[6]]);
  m = ASCTIME.exec(text);
  if (m) return utc(Number(m[6]), m[1], m[2], [m[3], m[4], m[5]]);
  return undefined;
}

/** RFC 850's two-digit year: the year with those digits that is not more than 50 years ahead (RFC 9110 §5.6.7). */
function fullYear(twoDigits: number, nowMs: number): number {
  const thisYear = new Date(nowMs).getUTCFullYear();
  const candidate = Math.floor(thisYear / 100) * 100 + twoDigits;
  return candidate > thisYear + 50 ? candidate - 100 : candidate;
}

/** Milliseconds for a calendar time in UTC; undefined for an impossible one (31 Feb, 25:00). */
function utc(
  year: number,
  monthName: string | undefined,
  dayText: string | undefined,
  hms: Array<string | undefined>,
): number | undefined {
  const month = MONTHS.indexOf(monthName ?? "");
  const day = Number(dayText);
  const [hour, minute, second] = hms.map(Number) as [number, number, number];
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const ms = Date.UTC(year, month, day, hour, minute, second);
  // Date.UTC rolls 31 Feb over into March: a date that does not come back unchanged did not exist.
  const back = new Date(ms);
  return back.getUTCMonth() === month && back.getUTCDate() === day ? ms : undefined;
}
