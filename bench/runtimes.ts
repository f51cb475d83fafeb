/**
 * GET /files/configs/{mac}.json on Node, Deno and Bun, same tool (httpLoad: wrk, 50
 * connections), same run, same file, answered 200 and (with the ETag in If-None-Match)
 * 304. Node is the baseline of the ratios.
 */
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { assertClean, httpLoad, LOAD_TOOL } from "./support/http-load.js";
import { type BenchServer, ROOT, startServer } from "./support/server.js";
import { isMain, report } from "./support/stats.js";

const MAC = "aa-bb-cc-dd-ee-ff";
const BIN = join(ROOT, "node_modules/.bin");

const COMMANDS: Record<string, string[]> = {
  node: [process.execPath, "dist/node.mjs"],
  deno: [
    join(BIN, "deno"),
    "run",
    "--sloppy-imports",
    "--node-modules-dir=manual",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    "src/runtimes/deno.ts",
  ],
  bun: [join(BIN, "bun"), "src/runtimes/bun.ts"],
};

export async function runtimesBench(): Promise<string[]> {
  const lines: string[] = [];
  const results: Record<string, number> = {};
  let source: string | undefined;
  for (const [runtime, command] of Object.entries(COMMANDS)) {
    let server: BenchServer | undefined;
    try {
      server = await startServer({}, command);
      const url = `${server.url}/files/configs/${MAC}.json`;
      if (!source) {
        await fetch(`${server.url}/api/configs/${MAC}`, {
          method: "PUT",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ content: { deviceName: "bench", settings: { interval: 60, pins: [1, 2, 3] } } }),
        });
        source = join(server.dataDir, "configs", `${MAC}.json`);
        await copyFile(source, "/tmp/iot-bench-config.json");
      } else {
        await mkdir(join(server.dataDir, "configs"), { recursive: true });
        await copyFile("/tmp/iot-bench-config.json", join(server.dataDir, "configs", `${MAC}.json`));
      }
      await httpLoad({ url, connections: 50, seconds: 1 });
      // The device's usual answer once it holds the config: a 304 to If-None-Match with its ETag.
      const first = await fetch(url);
      await first.arrayBuffer();
      const etag = first.headers.get("etag");
      if (first.status !== 200 || !etag)
        throw new Error(`${runtime}: GET ${url} answered ${first.status}, ETag ${etag}`);
      const variants = { 200: {}, 304: { "If-None-Match": etag } };
      for (const [status, headers] of Object.entries(variants)) {
        const r = assertClean(`${runtime} ${status}`, await httpLoad({ url, connections: 50, headers }));
        const key = `${runtime} ${status}`;
        results[key] = r.rps;
        const name = `runtime ${runtime} GET /files/configs/{mac}.json ${status} rps vs Node (${LOAD_TOOL}, 50 conns)`;
        lines.push(report(name, r.rps, "req/s", runtime === "node" ? undefined : results[`node ${status}`], 0));
      }
    } finally {
      await server?.stop();
    }
  }
  return lines;
}

if (isMain(import.meta.url)) await runtimesBench();
