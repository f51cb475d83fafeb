/**
 * The fleet view at fleet size (issue 19, point 4): GET /api/devices over 10,000 devices,
 * each with a config (written straight into the configs folder) and fleet records (a batch
 * of fetches left by an earlier process, and a report for every other device, written
 * straight into STATE_DIR in the server's own format). Warm p50/p99 of sequential
 * requests against GET /api/configs over the same 10,000 configs in the same run, in
 * alternating rounds; the goal is absolute (warm p50 ≤ 50 ms).
 */
import { rmSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeFetches, encodeReport, type Fetch } from "../src/features/fleet/record-format.js";
import { inParallel, macOf } from "./support/fleet-fixture.js";
import { alternate } from "./support/rounds.js";
import { type BenchServer, startServer } from "./support/server.js";
import { isMain, percentile, report } from "./support/stats.js";

const DEVICES = Number(process.env.BENCH_FLEET_VIEW_DEVICES ?? 10_000);
const REQUESTS = Number(process.env.BENCH_FLEET_VIEW_REQUESTS ?? 200);
const BATCH = 10;

/** Configs as the server stores them, a batch of fetches (every device, some of an older config), reports for half. */
async function writeFleet(dataDir: string): Promise<void> {
  const configs = join(dataDir, "configs");
  const fetches = join(dataDir, "state", "device-fetches");
  const reports = join(dataDir, "state", "device-reports");
  for (const dir of [configs, fetches, reports]) await mkdir(dir, { recursive: true });
  const at = Date.now() - 60_000;
  const held = new Map<string, Fetch>();
  await inParallel(
    Array.from({ length: DEVICES }, (_, i) => i),
    async (i) => {
      const mac = macOf(i);
      const content = { deviceName: `device-${i}`, deviceEntityId: `sensor.device_${i}`, enableOTA: i % 2 === 0 };
      await writeFile(join(configs, `${mac}.json`), JSON.stringify(content, null, 2));
      // Not the config's real ETag: these devices are "behind", which costs the view the same.
      held.set(mac, { etag: `"${i.toString(16).padStart(64, "0")}"`, at });
      if (i % 2 === 0) {
        const record = { report: { state: "ok" as const, firmware_version: "1.0.0" }, at: at + 1 };
        await writeFile(join(reports, `${mac}.${at + 1}`), encodeReport(record));
      }
    },
  );
  await writeFile(join(fetches, `${"0".repeat(32)}.${at}`), encodeFetches(held));
}

async function timedGet(server: BenchServer, path: string, expected?: number): Promise<number> {
  const start = performance.now();
  const res = await fetch(`${server.url}${path}`);
  const body = await res.arrayBuffer();
  const ms = performance.now() - start;
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
  if (expected !== undefined) {
    const count = (JSON.parse(Buffer.from(body).toString("utf8")) as { count?: number }).count;
    if (count !== expected) throw new Error(`GET ${path} listed ${count} of ${expected}`);
    console.log(`  GET ${path}: ${body.byteLength} bytes in ${ms.toFixed(1)} ms`);
  }
  return ms;
}

export async function fleetViewBench(): Promise<string[]> {
  const dataDir = await mkdtemp(join(tmpdir(), "iot-bench-fleet-view-"));
  const removeOnExit = () => rmSync(dataDir, { recursive: true, force: true });
  process.once("exit", removeOnExit);
  let server: BenchServer | undefined;
  try {
    await writeFleet(dataDir);
    server = await startServer({ DATA_DIR: dataDir }, [process.execPath, "dist/node.mjs"]);
    const running = server;
    const cold = await timedGet(running, "/api/devices", DEVICES);
    await timedGet(running, "/api/configs", DEVICES);
    const rounds = await alternate(
      {
        configs: async () => {
          const times: number[] = [];
          for (let i = 0; i < BATCH; i++) times.push(await timedGet(running, "/api/configs"));
          return times;
        },
        devices: async () => {
          const times: number[] = [];
          for (let i = 0; i < BATCH; i++) times.push(await timedGet(running, "/api/devices"));
          return times;
        },
      },
      Math.max(1, Math.round(REQUESTS / BATCH)),
    );
    const devices = rounds.devices.flat();
    const configs = rounds.configs.flat();
    const what = `fleet view GET /api/devices over ${DEVICES.toLocaleString("en-US")} devices`;
    const how = `sequential fetch, ${devices.length} requests, alternating with GET /api/configs`;
    console.log(`  first GET /api/devices after start (records read from STATE_DIR): ${cold.toFixed(1)} ms`);
    return [
      report(
        `${what} warm p50 vs GET /api/configs p50 (${how})`,
        percentile(devices, 50),
        "ms",
        percentile(configs, 50),
        1,
      ),
      report(
        `${what} warm p99 vs GET /api/configs p99 (${how})`,
        percentile(devices, 99),
        "ms",
        percentile(configs, 99),
        1,
      ),
    ];
  } finally {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
    process.off("exit", removeOnExit);
  }
}

if (isMain(import.meta.url)) await fleetViewBench();
