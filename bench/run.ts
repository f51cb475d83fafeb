/**
 * `npm run bench`: builds the server, runs every benchmark in one go (each against a
 * baseline measured in the same run), prints one line per figure, and writes the whole of
 * BENCHMARKS.md from this one run: the machine and tool versions, the load tool and its
 * settings, the sections in a fixed order (support/sections-*.ts: commands, table, prose),
 * the capacity table and the goals missed. BENCH_QUICK=1 checks the runner quickly
 * (support/settings.ts); BENCH_OUT writes elsewhere (never commit a quick run's file).
 */
// First, as a side effect: it fills in quick mode's settings before any benchmark module reads them.
import "./support/settings.js";
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Figures } from "./support/figures.js";
import { LoadToolMissing, loadToolSettings, requireLoadTool } from "./support/http-load.js";
import { describeMachine } from "./support/machine.js";
import { benchmarksMarkdown, type SectionResult, took } from "./support/markdown.js";
import { BENCH_ROUNDS } from "./support/rounds.js";
import { deviceSections } from "./support/sections-devices.js";
import { serverSections } from "./support/sections-server.js";
import { ROOT } from "./support/server.js";
import { BENCH_ONLY, BENCH_OUT, BENCH_SECONDS, FLEET_DEVICES, QUICK } from "./support/settings.js";

interface Goal {
  pattern: RegExp;
  goal: string;
  met(value: number, ratio: number | undefined): boolean;
}

const GOALS: Goal[] = [
  {
    pattern: /^config read (200|304) on Node rps/,
    goal: "≥ 0.6× Hono hello-world on @hono/node-server",
    met: (_v, r) => (r ?? 0) >= 0.6,
  },
  {
    pattern: /^config read (200|304) on Bun rps/,
    goal: "≥ 0.6× Hono hello-world on Bun.serve",
    met: (_v, r) => (r ?? 0) >= 0.6,
  },
  {
    pattern: /^config read (200|304) on Deno rps/,
    goal: "≥ 0.6× Hono hello-world on Deno.serve",
    met: (_v, r) => (r ?? 0) >= 0.6,
  },
  {
    pattern: /^config read (200|304) on (Node|Deno|Bun) with a device token and read recording rps/,
    goal: "≥ 0.6× Hono hello-world on the same runtime",
    met: (_v, r) => (r ?? 0) >= 0.6,
  },
  {
    pattern: /^asset stream .* throughput/,
    goal: "≥ 0.9× bare node:http createReadStream",
    met: (_v, r) => (r ?? 0) >= 0.9,
  },
  { pattern: /^listing GET \/api\/configs .* warm p50/, goal: "≤ 50 ms", met: (v) => v <= 50 },
  { pattern: /^fleet view GET \/api\/devices .* warm p50/, goal: "≤ 50 ms", met: (v) => v <= 50 },
  { pattern: /^fleet .* converged/, goal: "every device", met: (v, r) => r === 1 && v > 0 },
  { pattern: /^fleet .* config messages per device/, goal: "1 per save of its own config", met: (v) => v === 1 },
  { pattern: /^fleet .* HTTP errors/, goal: "0", met: (v) => v === 0 },
  { pattern: /^fleet .* storage writes for read records/, goal: "≤ 1 per device per 10 s", met: (v) => v <= 1 },
  { pattern: /^fleet .* descriptors after minus before/, goal: "≤ 0", met: (v) => v <= 0 },
  {
    pattern: /^rollout release of .* rate/,
    goal: "≥ 0.8× client PUTs",
    met: (_v, r) => (r ?? 0) >= 0.8,
  },
  { pattern: /^rollout decision latency p99/, goal: "≤ 2 s", met: (v) => v <= 2000 },
  { pattern: /^admin read with an .* rps/, goal: "≥ 0.9× anonymous", met: (_v, r) => (r ?? 0) >= 0.9 },
  { pattern: /^status report PUT rps/, goal: "≥ 1× config save (costs no more)", met: (_v, r) => (r ?? 0) >= 1 },
  { pattern: /^status report PUT p50/, goal: "≤ 1× config save", met: (_v, r) => (r ?? 99) <= 1 },
  { pattern: /^write PUT with MQTT .* rps/, goal: "≥ 0.9× no-op sink", met: (_v, r) => (r ?? 0) >= 0.9 },
  { pattern: /^notify latency .* p50 minus raw p50/, goal: "≤ 1 ms", met: (v) => v <= 1 },
  {
    pattern: /^notify latency .* p50 minus the PUT alone/,
    goal: "≤ raw + 1 ms (notification path only)",
    met: (v, r) => r !== undefined && v <= v / r + 1,
  },
  { pattern: /^sink throughput/, goal: "≥ 0.8× raw mqtt.js", met: (_v, r) => (r ?? 0) >= 0.8 },
  { pattern: /^upload v2 .* throughput/, goal: "≥ 0.95× version 1", met: (_v, r) => (r ?? 0) >= 0.95 },
  { pattern: /^upload v2 .* p50/, goal: "≤ 1.05× version 1", met: (_v, r) => (r ?? 99) <= 1.05 },
  { pattern: /^upload .* throughput/, goal: "≥ 0.5× fs copy", met: (_v, r) => (r ?? 0) >= 0.5 },
  { pattern: /^upload .* peak RSS/, goal: "< 150 MB", met: (v) => v * 1.048576 < 150 },
  { pattern: /^write PUT p99 with the broker down/, goal: "≤ 1.2× broker up", met: (_v, r) => (r ?? 99) <= 1.2 },
  { pattern: /^start-up to first healthy/, goal: "< 500 ms", met: (v) => v < 500 },
  { pattern: /^Workers hub notify latency p50/, goal: "≤ 20 ms", met: (v) => v <= 20 },
  { pattern: /^Workers hub PUT rps/, goal: "≥ 0.9× no sink", met: (_v, r) => (r ?? 0) >= 0.9 },
  {
    pattern: /^fleet sim .* every device current .* after the last save/,
    goal: "≤ 120 s (the simulator's bound)",
    met: (v) => v <= 120,
  },
  { pattern: /^fleet sim .* (MQTT errors|broker drops)/, goal: "0", met: (v) => v === 0 },
  {
    pattern: /^fleet rollout .* no device failing, applied/,
    goal: "every device (rollout completed)",
    met: (_v, r) => r === 1,
  },
  {
    pattern: /^fleet rollout .* failing, waves released before the halt/,
    goal: "halted in wave 1",
    met: (v) => v === 1,
  },
  { pattern: /^fleet rollout .* failing, share of the fleet whose config changed/, goal: "≤ 1 %", met: (v) => v <= 1 },
];

function judge(line: string): { goal: string; verdict: string } {
  // NaN: a figure the run could not measure, which misses whatever goal it has.
  const match = /^(.*?): (-?[\d.]+|NaN) \S+(?: \(([\d.]+)× baseline)?/.exec(line);
  const goal = GOALS.find((g) => match && g.pattern.test(match[1] as string));
  if (!match || !goal) return { goal: "—", verdict: "—" };
  const ratio = match[3] !== undefined ? Number(match[3]) : undefined;
  return { goal: goal.goal, verdict: goal.met(Number(match[2]), ratio) ? "met" : "**missed**" };
}

try {
  requireLoadTool();
} catch (error) {
  if (!(error instanceof LoadToolMissing)) throw error;
  console.error(`npm run bench: ${error.message}`);
  process.exit(1);
}
execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: ROOT, stdio: "inherit" });
const startedAt = new Date();
const figures = new Figures();
const results: SectionResult[] = [];
const chosen = (title: string) =>
  BENCH_ONLY.length === 0 || BENCH_ONLY.some((part) => title.toLowerCase().includes(part));
if (BENCH_ONLY.length > 0 && BENCH_OUT === undefined) {
  console.error(
    "npm run bench: BENCH_ONLY writes a partial file; set BENCH_OUT to write it elsewhere than BENCHMARKS.md",
  );
  process.exit(1);
}
for (const section of [...deviceSections, ...serverSections].filter((s) => chosen(s.title))) {
  console.log(`\n# ${section.title}`);
  const started = performance.now();
  let lines: string[] = [];
  let failure: string | undefined;
  try {
    lines = await section.run();
  } catch (error) {
    // One broken benchmark must not cost the rest of an hour's run: the file says it failed, the exit code too.
    failure = error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(`${section.title} failed: ${failure}`);
    process.exitCode = 1;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`(${section.title}: ${took(seconds)})`);
  figures.add(lines);
  results.push({ section, lines, seconds, failure });
}

const out = BENCH_OUT ?? join(ROOT, "BENCHMARKS.md");
const markdown = benchmarksMarkdown({
  startedAt,
  seconds: (Date.now() - startedAt.getTime()) / 1000,
  quick: QUICK,
  machine: describeMachine(),
  loadTool: loadToolSettings(),
  settings: [
    ["Rounds", `${BENCH_ROUNDS} alternating rounds where a figure says "median of"`],
    ["Fleet", `${FLEET_DEVICES.toLocaleString("en-US")} simulated devices`],
  ],
  results,
  figures,
  fleetDevices: FLEET_DEVICES,
  judge,
});
await writeFile(out, markdown);
console.log(`\nwrote ${out} (load runs of ${BENCH_SECONDS} s)`);
