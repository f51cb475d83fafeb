/**
 * Start-up: process start → first 200 on /api/health, for the bundled Node server
 * (`npm start` runs it after building) with an existing signing key. Median of 7.
 */
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "./support/server.js";
import { isMain, percentile, report } from "./support/stats.js";

export async function startupBench(runs = 7): Promise<string[]> {
  const keyDir = await mkdtemp(join(tmpdir(), "iot-bench-key-"));
  try {
    // The first start generates a key pair (a one-off cost); measure the usual start.
    const first = await startServer({}, [process.execPath, "dist/node.mjs"]);
    await copyFile(join(first.dataDir, "dev-signing-key.pem"), join(keyDir, "key.pem"));
    await first.stop();
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const server = await startServer({ SIGNING_KEY_PATH: join(keyDir, "key.pem") }, [
        process.execPath,
        "dist/node.mjs",
      ]);
      times.push(server.startupMs);
      await server.stop();
    }
    return [
      report("start-up to first healthy response (median)", percentile(times, 50), "ms", undefined, 0),
      report("start-up on first boot, generating the dev key", first.startupMs, "ms", undefined, 0),
    ];
  } finally {
    await rm(keyDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await startupBench();
