/**
 * Device reads at 50 connections: GET /files/configs/{mac}.json and GET /api/configs/{mac},
 * against a bare node:http server reading the same file, in the same run.
 */
import { join } from "node:path";
import { load } from "./support/load.js";
import { startServer } from "./support/server.js";
import { isMain, report } from "./support/stats.js";

const MAC = "aa-bb-cc-dd-ee-ff";

export async function deviceReadBench(): Promise<string[]> {
  const server = await startServer({}, [process.execPath, "dist/node.mjs"]);
  const lines: string[] = [];
  try {
    const content = {
      deviceName: "bench",
      deviceEntityId: "sensor.bench",
      enableOTA: true,
      settings: { interval: 60, pins: [1, 2, 3] },
    };
    await fetch(`${server.url}/api/configs/${MAC}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ content }),
    });
    const bare = await startServer({ BARE_FILE: join(server.dataDir, "configs", `${MAC}.json`) }, [
      process.execPath,
      "bench/support/bare-server.mjs",
    ]);
    let baseline: Awaited<ReturnType<typeof load>>;
    try {
      await load({ url: `${bare.url}/x`, seconds: 1 });
      baseline = await load({ url: `${bare.url}/x` });
    } finally {
      await bare.stop();
    }
    await load({ url: `${server.url}/files/configs/${MAC}.json`, seconds: 1 });
    const files = await load({ url: `${server.url}/files/configs/${MAC}.json` });
    const api = await load({ url: `${server.url}/api/configs/${MAC}` });
    for (const [name, r] of [
      ["GET /files/configs/{mac}.json", files],
      ["GET /api/configs/{mac}", api],
    ] as const) {
      if (r.errors || r.non2xx) throw new Error(`${name}: ${r.errors} errors, ${r.non2xx} non-2xx`);
      lines.push(report(`device read ${name} rps (50 conns)`, r.rps, "req/s", baseline.rps, 0));
      lines.push(report(`device read ${name} p99`, r.p99, "ms", baseline.p99, 1));
    }
  } finally {
    await server.stop();
  }
  return lines;
}

if (isMain(import.meta.url)) await deviceReadBench();
