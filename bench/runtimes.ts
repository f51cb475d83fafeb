/**
 * GET /files/configs/{mac}.json on Node, Deno and Bun, same tool (autocannon, 50
 * connections), same run, same file. Node is the baseline of the ratios.
 */
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { load } from "./support/load.js";
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
      await load({ url, seconds: 1 });
      const r = await load({ url });
      if (r.errors || r.non2xx) throw new Error(`${runtime}: ${r.errors} errors, ${r.non2xx} non-2xx`);
      results[runtime] = r.rps;
      lines.push(
        report(`runtime ${runtime} GET /files/configs/{mac}.json rps (50 conns)`, r.rps, "req/s", results.node, 0),
      );
    } finally {
      await server?.stop();
    }
  }
  return lines;
}

if (isMain(import.meta.url)) await runtimesBench();
