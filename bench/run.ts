/**
 * `npm run bench`: builds the server, runs every benchmark in one go (each against a
 * baseline measured in the same run), prints one line per figure, and writes them
 * with the machine's description and the commands to BENCHMARKS.md.
 */
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { assetsBench } from "./assets.js";
import { authBench } from "./auth.js";
import { fleetBench } from "./fleet.js";
import { fleetViewBench } from "./fleet-view.js";
import { listingBench } from "./listing.js";
import { latencyBench } from "./notify-latency.js";
import { readsBench } from "./reads.js";
import { rolloutBench } from "./rollout.js";
import { runtimesBench } from "./runtimes.js";
import { throughputBench } from "./sink-throughput.js";
import { startupBench } from "./startup.js";
import { statusReportBench } from "./status-report.js";
import { LOAD_TOOL } from "./support/http-load.js";
import { ROOT } from "./support/server.js";
import { uploadBench } from "./upload.js";
import { workerHubBench } from "./worker-hub.js";
import { writeBench } from "./write.js";

const version = (command: string, args: string[]) => {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
      .split("\n")[0]
      ?.trim();
  } catch (error) {
    return `unknown (${(error as Error).message.split("\n")[0]})`;
  }
};

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
];

function judge(line: string): { goal: string; verdict: string } {
  const match = /^(.*?): (-?[\d.]+) \S+(?: \(([\d.]+)× baseline)?/.exec(line);
  const goal = GOALS.find((g) => match && g.pattern.test(match[1] as string));
  if (!match || !goal) return { goal: "—", verdict: "—" };
  const ratio = match[3] !== undefined ? Number(match[3]) : undefined;
  return { goal: goal.goal, verdict: goal.met(Number(match[2]), ratio) ? "met" : "**missed**" };
}

execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: ROOT, stdio: "inherit" });
const lines: string[] = [];
const steps: Array<[string, () => Promise<string[]>]> = [
  ["cached config reads", readsBench],
  ["asset streaming", assetsBench],
  ["listing", listingBench],
  ["fleet view", fleetViewBench],
  ["fleet", () => fleetBench()],
  ["writes", writeBench],
  ["status reports", () => statusReportBench()],
  ["rollouts", rolloutBench],
  ["authentication", authBench],
  ["notification latency", () => latencyBench(300)],
  ["sink throughput", () => throughputBench(20_000, 20)],
  ["1 GiB upload", () => uploadBench(Number(process.env.BENCH_UPLOAD_MIB ?? 1024))],
  ["start-up", () => startupBench()],
  ["runtimes", () => runtimesBench()],
  ["Workers notification hub", () => workerHubBench(100)],
];
for (const [name, step] of steps) {
  console.log(`\n# ${name}`);
  lines.push(...(await step()));
}

const cpu = cpus()[0]?.model ?? "unknown CPU";
const markdown = `# Benchmarks

Latest figures from \`npm run bench\` (${new Date().toISOString()}). Every figure comes with
its baseline measured in the same run: this machine is shared and noisy, so ratios hold while
absolute numbers drift. Load is generated by autocannon (50 connections, ${process.env.BENCH_SECONDS ?? 5} s
per run) from the benchmark process on the same machine; the reads and assets figures use ${LOAD_TOOL} (one
thread) in alternating rounds, as each of their lines says.

Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, ${process.platform} ${process.arch};
Node ${process.version}; ${version("/usr/sbin/mosquitto", ["-h"]) ?? "mosquitto"}.

| Figure | Value (ratio × baseline) | Goal | Verdict |
|---|---|---|---|
${lines
  .map((line) => {
    const [name, value] = [line.slice(0, line.indexOf(": ")), line.slice(line.indexOf(": ") + 2)];
    const { goal, verdict } = judge(line);
    return `| ${name} | ${value} | ${goal} | ${verdict} |`;
  })
  .join("\n")}

## Where a goal is missed, and why

- **Notification latency "p50 within raw + 1 ms"**: the end-to-end figure starts when the PUT is
  sent, so it contains the durable write itself: two fsyncs (the temporary file, then the
  directory after the rename), ~2.4 ms on this disk (the "PUT alone" line). The API contract requires a
  notification to go out only after the file is durably stored, so that cost is not ours to
  remove. The notification path on top of the PUT ("minus the PUT alone") is 0.05 ms on TCP and
  ~0.1–0.5 ms on WebSocket: within raw + 1 ms.
- **Sink throughput over TCP (~0.55–0.6×)**: raw mqtt.js lanes never hold more than 20
  messages, while the benchmark hands the notifier 20,000 notifications in one burst, as a
  storm of saves would: the backlog (queue entries, tracked promises) costs GC time (~10% of the
  profile), plus ~3 µs per notification of bookkeeping in the notifier and metrics decorator
  (halved from ~6 µs during this work: cached label children, one promise reaction). Over
  WebSocket, where the transport dominates, the same code reaches ~0.9×. At the server's real
  write rate (~1,500 saves/s, fsync-bound) the sink is never the bottleneck.
- **PUT with MQTT over WebSocket (~0.76–0.84×)**: on 2 cores shared by autocannon, the server and
  Mosquitto, WebSocket framing (client-side masking in \`ws\`, libwebsockets in the broker) takes
  CPU the no-op baseline does not spend; over TCP the same PUT reaches 0.91×.

## Commands

\`\`\`bash
npm run bench                          # everything below, then rewrites this file
npx tsx bench/reads.ts                 # cached GET /files/configs/{mac}.json 200/304 vs Hono hello-world (Node, Bun); nginx, bare node:http
npx tsx bench/assets.ts                # 1.5 MiB GET /files/assets/{name} at 10 conns vs bare createReadStream; nginx
npx tsx bench/listing.ts               # GET /api/configs over 10,000 configs: warm p50/p99, cold first request
npx tsx bench/fleet-view.ts           # GET /api/devices over 10,000 devices with records: warm p50/p99 vs GET /api/configs
npx tsx bench/fleet.ts 1000            # 1,000 simulated devices, per-device topics vs the shared topic (npm run fleet)
npx tsx bench/profile-reads.ts [200|304] # top self-time functions of the server under config-read load (not a figure)
npx tsx bench/write.ts                 # PUT with MQTT tcp/ws vs no-op sink; PUT p99 broker down vs up
npx tsx bench/status-report.ts         # PUT /files/status/{mac}.json vs a config save of the same size (needs dist: node scripts/build.mjs)
npm run fleet -- --devices 10000 --per-device-topics --shards 2 --timeout 600 [--report mqtt]  # 10,000 reporting devices
npx tsx bench/rollout.ts               # rollout release of 5,000 configs vs 5,000 client PUTs; tipping report → next wave at 10,000 devices (needs dist)
npm run fleet -- --devices 10000 --per-device-topics --shards 2 --timeout 900 --rollout --waves 1,10,50,100 [--fail-share 0.3]  # a rollout over 10,000 simulated devices
npx tsx bench/auth.ts                  # GET /api/configs/{mac} with an API token / OIDC token vs anonymous
npx tsx bench/notify-latency.ts 300    # PUT sent → subscriber receives vs raw mqtt.js publish → receive
npx tsx bench/sink-throughput.ts       # notifier + metrics + MQTT sink vs raw mqtt.js, window 20
npx tsx bench/upload.ts 1024           # 1 GiB upload vs fs copy, server peak RSS
npx tsx bench/startup.ts               # process start → first 200 on /api/health
npx tsx bench/runtimes.ts              # GET /files/configs/{mac}.json on Node, Deno and Bun
npx tsx bench/worker-hub.ts 100        # Worker (wrangler dev): hub vs per-request notify latency, cold hub, PUT rps vs no sink
\`\`\`

Set \`BENCH_SECONDS\` to change the duration of each load run.
`;
await writeFile(join(ROOT, "BENCHMARKS.md"), markdown);
console.log("\nwrote BENCHMARKS.md");
