import { pathToFileURL } from "node:url";

/** Small helpers shared by the benchmarks: percentiles and the one-line report format. */

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/** `name: value unit (ratio× baseline)` — the ratio is what holds on a noisy machine. */
export function report(name: string, value: number, unit: string, baseline?: number, digits = 2): string {
  const ratio =
    baseline === undefined || baseline === 0
      ? ""
      : ` (${(value / baseline).toFixed(2)}× baseline ${baseline.toFixed(digits)} ${unit})`;
  const line = `${name}: ${value.toFixed(digits)} ${unit}${ratio}`;
  console.log(line);
  return line;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True when the module is the script being run (so each benchmark also runs on its own). */
export const isMain = (moduleUrl: string) =>
  process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;
