/**
 * Alternating rounds on a noisy machine: every run of a round in order, the next round
 * in reverse (A B C, C B A, A B C, ...), so a drift over time weighs on each run alike;
 * each figure is then the median of its rounds.
 */
import { BENCH_ROUNDS } from "./settings.js";

export { BENCH_ROUNDS };

export async function alternate<K extends string, R>(
  runs: Record<K, () => Promise<R>>,
  rounds = BENCH_ROUNDS,
): Promise<Record<K, R[]>> {
  const keys = Object.keys(runs) as K[];
  const results = Object.fromEntries(keys.map((k) => [k, [] as R[]])) as Record<K, R[]>;
  for (let round = 0; round < rounds; round++) {
    for (const key of round % 2 === 0 ? keys : [...keys].reverse()) {
      results[key].push(await runs[key]());
    }
  }
  return results;
}

/** The median of one figure over a run's rounds (the mean of the middle two for an even count). */
export function median<R>(results: R[], figure: (r: R) => number): number {
  const sorted = results.map(figure).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * One line per figure with every round's value, so a reader can see how noisy the run was,
 * and with a baseline, each round's ratio to the baseline of the same round.
 */
export function logRounds<R>(results: Record<string, R[]>, figure: (r: R) => number, unit: string, baseline?: string) {
  for (const [key, runs] of Object.entries(results)) {
    const values = runs.map(figure);
    const base = baseline === undefined || key === baseline ? undefined : results[baseline]?.map(figure);
    const ratios = base
      ? `; ×${baseline}: ${values.map((v, i) => (v / (base[i] as number)).toFixed(2)).join(", ")}`
      : "";
    console.log(`  rounds ${key}: ${values.map((v) => v.toFixed(0)).join(", ")} ${unit}${ratios}`);
  }
}
