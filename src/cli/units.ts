/** Byte counts, rates and durations in the short human units the progress line uses. */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** The unit `bytes` is best shown in: the largest in which it is at least 1. */
function unitOf(bytes: number): number {
  let unit = 0;
  for (let value = bytes; value >= 1024 && unit < UNITS.length - 1; value /= 1024) unit++;
  return unit;
}

function inUnit(bytes: number, unit: number, round: (n: number) => number = (n) => n): string {
  return unit === 0 ? `${bytes} B` : `${(round((bytes / 1024 ** unit) * 10) / 10).toFixed(1)} ${UNITS[unit]}`;
}

export const formatBytes = (bytes: number): string => inUnit(bytes, unitOf(bytes));

/**
 * `bytes` in the unit `reference` is shown in ("0.5 MiB" next to "3.0 MiB", not "512.0 KiB"),
 * so a count that grows towards `reference` is never wider than it. Rounded down: 3.98 MiB
 * of 4.0 MiB shows as "3.9 MiB", never as all of it before it is.
 */
export const formatBytesLike = (bytes: number, reference: number): string =>
  bytes === reference ? formatBytes(reference) : inUnit(bytes, unitOf(reference), Math.floor);

export const formatRate = (bytesPerSecond: number): string => `${formatBytes(Math.round(bytesPerSecond))}/s`;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--";
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
