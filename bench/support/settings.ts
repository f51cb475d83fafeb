/**
 * The benchmark settings every bench reads from the environment, in one place.
 * `BENCH_QUICK=1` fills in small values for whatever is not set explicitly (1 s per load,
 * two rounds, 1,000 devices, a small upload): a check that the runner works end to end,
 * whose figures mean nothing. run.ts imports this module before any bench, so the
 * defaults are in place before the benches read them at import.
 */

export const QUICK = process.env.BENCH_QUICK === "1";

const QUICK_DEFAULTS: Record<string, string> = {
  BENCH_SECONDS: "1",
  BENCH_ROUNDS: "2",
  BENCH_FLEET_DEVICES: "1000",
  BENCH_UPLOAD_MIB: "64",
  BENCH_LISTING_CONFIGS: "1000",
  BENCH_LISTING_REQUESTS: "40",
  BENCH_LISTING_COLD_RUNS: "1",
  BENCH_FLEET_VIEW_DEVICES: "1000",
  BENCH_FLEET_VIEW_REQUESTS: "40",
  BENCH_ROLLOUT_RELEASE_DEVICES: "500",
  BENCH_ROLLOUT_DECISION_DEVICES: "1000",
  BENCH_ROLLOUT_DECISIONS: "1",
  BENCH_ROLLOUT_ROUNDS: "1",
  BENCH_NOTIFY_SAMPLES: "50",
  BENCH_SINK_MESSAGES: "2000",
  BENCH_HUB_SAMPLES: "20",
};

if (QUICK) {
  for (const [name, value] of Object.entries(QUICK_DEFAULTS)) process.env[name] ??= value;
}

const numberFrom = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

/** Seconds of each HTTP load run. */
export const BENCH_SECONDS = numberFrom("BENCH_SECONDS", 5);
/** Alternating rounds of the benchmarks that take a median (rounds.ts). */
export const BENCH_ROUNDS = numberFrom("BENCH_ROUNDS", 4);
/** Devices of the fleet simulator runs (10,000 by default; the shared-topic comparison uses at most 1,000). */
export const FLEET_DEVICES = numberFrom("BENCH_FLEET_DEVICES", 10_000);
export const UPLOAD_MIB = numberFrom("BENCH_UPLOAD_MIB", 1024);
export const NOTIFY_SAMPLES = numberFrom("BENCH_NOTIFY_SAMPLES", 300);
export const SINK_MESSAGES = numberFrom("BENCH_SINK_MESSAGES", 20_000);
export const HUB_SAMPLES = numberFrom("BENCH_HUB_SAMPLES", 100);
/**
 * Only the sections whose title contains one of these (comma list, any case): for checking a
 * change to one benchmark. Such a file lacks the rest; write it elsewhere (BENCH_OUT).
 */
export const BENCH_ONLY = (process.env.BENCH_ONLY ?? "")
  .split(",")
  .map((s) => s.trim().toLowerCase())
  .filter(Boolean);
/** Where run.ts writes the file (default BENCHMARKS.md at the repository's root). */
export const BENCH_OUT = process.env.BENCH_OUT;
