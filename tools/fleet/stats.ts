/** Summaries of the per-device figures; null when there is nothing to summarise, printed as "n/a". */

export interface Spread {
  p50: number;
  p99: number;
  max: number;
}

export interface Range {
  min: number;
  mean: number;
  max: number;
}

const round = (value: number) => Math.round(value * 10) / 10;

/** Nearest-rank percentile of sorted values, the definition bench/support/stats.ts uses too. */
const nearestRank = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;

export function spread(values: number[]): Spread | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: round(nearestRank(sorted, 50)),
    p99: round(nearestRank(sorted, 99)),
    max: round(sorted.at(-1) as number),
  };
}

export function range(values: number[]): Range | null {
  if (values.length === 0) return null;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const value of values) {
    min = Math.min(min, value);
    max = Math.max(max, value);
    sum += value;
  }
  return { min, mean: round(sum / values.length), max };
}
