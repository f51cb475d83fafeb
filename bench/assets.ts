/**
 * Asset streaming (issue 11, figure 2): GET /files/assets/{name} of a 1.5 MiB asset at
 * 10 connections, throughput against a bare node:http server doing
 * fs.createReadStream(path).pipe(res) with a Content-Length, in alternating rounds of the
 * same run. nginx (one worker, sendfile) serving the same file is a reference line.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { assertClean, type HttpLoadResult, httpLoad, LOAD_TOOL } from "./support/http-load.js";
import { BENCH_SECONDS } from "./support/load.js";
import { type Nginx, nginxAvailable, startNginx } from "./support/nginx.js";
import { alternate, BENCH_ROUNDS, logRounds, median } from "./support/rounds.js";
import { startServer } from "./support/server.js";
import { isMain, report } from "./support/stats.js";

const NAME = "firmware-bench.bin";
const SIZE = 1.5 * 1024 * 1024;
const CONNECTIONS = 10;

async function expectWhole(url: string, bytes: Uint8Array): Promise<void> {
  const res = await fetch(url);
  const got = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200 || Buffer.compare(got, bytes) !== 0) {
    throw new Error(`${url}: expected the ${bytes.length}-byte asset, got ${res.status} with ${got.length} bytes`);
  }
  if (res.headers.get("content-length") !== String(bytes.length)) throw new Error(`${url}: no exact Content-Length`);
}

export async function assetsBench(): Promise<string[]> {
  const server = await startServer({}, [process.execPath, "dist/node.mjs"]);
  const started: Array<{ stop(): Promise<void> }> = [server];
  try {
    const bytes = new Uint8Array(randomBytes(SIZE));
    await mkdir(join(server.dataDir, "assets"), { recursive: true });
    const file = join(server.dataDir, "assets", NAME);
    await writeFile(file, bytes);
    const bare = await startServer({ BARE_FILE: file }, [process.execPath, "bench/support/bare-stream.mjs"], "/health");
    started.push(bare);
    let nginx: Nginx | undefined;
    if (nginxAvailable()) {
      nginx = await startNginx({ [`/files/assets/${NAME}`]: file });
      started.push(nginx);
    } else console.log("nginx not installed: no nginx reference line");

    const urls: Record<string, string> = {
      bare: `${bare.url}/x`,
      server: `${server.url}/files/assets/${NAME}`,
      ...(nginx ? { nginx: `${nginx.url}/files/assets/${NAME}` } : {}),
    };
    for (const url of Object.values(urls)) await expectWhole(url, bytes);
    const run = (name: string, seconds?: number) => async (): Promise<HttpLoadResult> =>
      assertClean(name, await httpLoad({ url: urls[name] as string, connections: CONNECTIONS, seconds }));
    for (const name of Object.keys(urls)) await run(name, 1)();
    const results = await alternate(Object.fromEntries(Object.keys(urls).map((name) => [name, run(name)])));
    logRounds(results, (r) => r.bytesPerSecond / 1e6, "MB/s", "bare");
    const mbps = (name: string) => median(results[name] as HttpLoadResult[], (r) => r.bytesPerSecond / 1e6);
    const rps = (name: string) => median(results[name] as HttpLoadResult[], (r) => r.rps);

    const tool = `${LOAD_TOOL}, ${CONNECTIONS} conns, median of ${BENCH_ROUNDS}`;
    console.log(`asset: ${SIZE} bytes; load by ${tool}, ${BENCH_SECONDS} s per run`);
    const what = "asset stream 1.5 MiB GET /files/assets/{name}";
    const vs = "vs bare node:http createReadStream";
    const lines = [
      report(`${what} throughput ${vs} (${tool})`, mbps("server"), "MB/s", mbps("bare"), 0),
      report(`${what} rps ${vs} (${tool})`, rps("server"), "req/s", rps("bare"), 0),
    ];
    if (nginx)
      lines.push(
        report(`reference nginx asset 1.5 MiB throughput ${vs} (${tool})`, mbps("nginx"), "MB/s", mbps("bare"), 0),
      );
    return lines;
  } finally {
    for (const s of started.reverse()) await s.stop();
  }
}

if (isMain(import.meta.url)) await assetsBench();
