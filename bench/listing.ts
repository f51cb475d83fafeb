/**
 * Listing at fleet size (issue 11, figure 3): GET /api/configs over 10,000 configs written
 * straight into the configs folder. The first request after start (cold: the server's own
 * caches empty, the page cache warm) and p50/p99 of sequential warm requests. The goal is
 * absolute (warm p50 ≤ 50 ms); the same-run references show the machine's drift: fs.readdir
 * of the folder (warm), and reading and parsing every file from the benchmark process (cold).
 */
import { rmSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inParallel, macOf } from "./support/fleet-fixture.js";
import { alternate, median } from "./support/rounds.js";
import { type BenchServer, startServer } from "./support/server.js";
import { isMain, percentile, report } from "./support/stats.js";

const CONFIGS = Number(process.env.BENCH_LISTING_CONFIGS ?? 10_000);
/** Sequential warm requests, taken in rounds of BATCH alternating with as many fs.readdir. */
const REQUESTS = Number(process.env.BENCH_LISTING_REQUESTS ?? 200);
const BATCH = 10;
/** Server starts, each measured by its first listing. */
const COLD_RUNS = Number(process.env.BENCH_LISTING_COLD_RUNS ?? 3);
/** Distinct small configs, pretty-printed as the server stores them. */
async function writeConfigs(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await inParallel(
    Array.from({ length: CONFIGS }, (_, i) => i),
    async (i) => {
      const content = {
        deviceName: `device-${i}`,
        deviceEntityId: `sensor.device_${i}`,
        enableOTA: i % 2 === 0,
        settings: { interval: 30 + (i % 90), room: `room-${i % 250}` },
      };
      await writeFile(join(dir, `${macOf(i)}.json`), JSON.stringify(content, null, 2));
    },
  );
}

/** Milliseconds `work` takes. */
async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

/**
 * Milliseconds of one GET /api/configs, to the last byte of the body (the client's JSON parse
 * is left out of the time); with `check`, then makes sure it lists every config.
 */
async function list(server: BenchServer, check = false): Promise<number> {
  const start = performance.now();
  const res = await fetch(`${server.url}/api/configs`);
  const body = await res.arrayBuffer();
  const ms = performance.now() - start;
  if (res.status !== 200) throw new Error(`GET /api/configs: ${res.status}`);
  const count = check ? (JSON.parse(Buffer.from(body).toString("utf8")) as { count?: number }).count : CONFIGS;
  if (count !== CONFIGS) throw new Error(`GET /api/configs listed ${count} configs of ${CONFIGS}`);
  if (check) console.log(`  GET /api/configs: ${body.byteLength} bytes in ${ms.toFixed(1)} ms`);
  return ms;
}

/** What a cold listing cannot avoid: every file read and parsed, 16 at once (as the server reads while listing). */
async function readEveryFile(dir: string): Promise<void> {
  const names = await readdir(dir);
  await inParallel(names, async (name) => {
    JSON.parse(await readFile(join(dir, name), "utf8"));
  });
}

export async function listingBench(): Promise<string[]> {
  const dataDir = await mkdtemp(join(tmpdir(), "iot-bench-listing-"));
  const configsDir = join(dataDir, "configs");
  // 10,000 files must not outlive a run that dies half-way.
  const removeOnExit = () => rmSync(dataDir, { recursive: true, force: true });
  process.once("exit", removeOnExit);
  let server: BenchServer | undefined;
  try {
    await writeConfigs(configsDir);
    const cold: number[] = [];
    const coldReference: number[] = [];
    for (let run = 0; run < COLD_RUNS; run++) {
      await server?.stop();
      coldReference.push(await timed(() => readEveryFile(configsDir)));
      server = await startServer({ DATA_DIR: dataDir }, [process.execPath, "dist/node.mjs"]);
      cold.push(await list(server, true));
    }
    const warmServer = server as BenchServer;
    await list(warmServer, true);
    const batches = await alternate(
      {
        readdir: async () => {
          const times: number[] = [];
          for (let i = 0; i < BATCH; i++) times.push(await timed(() => readdir(configsDir)));
          return times;
        },
        listing: async () => {
          const times: number[] = [];
          for (let i = 0; i < BATCH; i++) times.push(await list(warmServer));
          return times;
        },
      },
      Math.max(1, Math.round(REQUESTS / BATCH)),
    );
    const warm = batches.listing.flat();
    const readdirs = batches.readdir.flat();

    const what = `listing GET /api/configs over ${CONFIGS.toLocaleString("en-US")} configs`;
    const how = `sequential fetch, ${warm.length} requests`;
    console.log(`configs written straight into ${configsDir}; ${how}; cold = median of ${COLD_RUNS} server starts`);
    return [
      report(`${what} warm p50 vs fs.readdir p50 (${how})`, percentile(warm, 50), "ms", percentile(readdirs, 50), 1),
      report(`${what} warm p99 vs fs.readdir p99 (${how})`, percentile(warm, 99), "ms", percentile(readdirs, 99), 1),
      report(
        `${what} cold first request vs reading and parsing every file in the bench process (median of ${COLD_RUNS})`,
        median(cold, (t) => t),
        "ms",
        median(coldReference, (t) => t),
        1,
      ),
    ];
  } finally {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
    process.off("exit", removeOnExit);
  }
}

if (isMain(import.meta.url)) await listingBench();
