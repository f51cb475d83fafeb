/**
 * Where a cached config read spends its time: the bundled server under
 * `node --cpu-prof`, loaded with GET /files/configs/{mac}.json (200, then 304 with
 * If-None-Match) at 50 connections, then stopped with SIGTERM so the profile is written;
 * prints the functions with the most self time. Not a figure: a guide for whoever makes
 * the reads faster. Frames in the bundle are named by their source file, through its map.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { topSelfTime } from "./support/cpu-profile.js";
import { assertClean, httpLoad, LOAD_TOOL } from "./support/http-load.js";
import { BENCH_SECONDS } from "./support/load.js";
import { ROOT, startServer } from "./support/server.js";
import { isMain } from "./support/stats.js";

const MAC = "aa-bb-cc-dd-ee-ff";

export async function profileReads(status: 200 | 304 = 200, top = 15): Promise<string[]> {
  const profileDir = await mkdtemp(join(tmpdir(), "iot-bench-profile-"));
  try {
    const server = await startServer({}, [
      process.execPath,
      "--cpu-prof",
      "--cpu-prof-dir",
      profileDir,
      "dist/node.mjs",
    ]);
    try {
      await fetch(`${server.url}/api/configs/${MAC}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ content: { deviceName: "bench-device", settings: { interval: 60 } } }),
      });
      const url = `${server.url}/files/configs/${MAC}.json`;
      const etag = (await fetch(url)).headers.get("etag") ?? "";
      const headers = status === 304 ? { "If-None-Match": etag } : undefined;
      await httpLoad({ url, connections: 50, seconds: 1, headers });
      const r = assertClean(`profile ${status}`, await httpLoad({ url, connections: 50, headers }));
      console.log(
        `${status} under ${LOAD_TOOL}, 50 conns, ${BENCH_SECONDS} s: ${r.rps.toFixed(0)} req/s (profiling slows it)`,
      );
    } finally {
      await server.stop();
    }
    const [file] = (await readdir(profileDir)).filter((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error("no .cpuprofile written: did the server exit through process.exit?");
    const map = { bundle: "dist/node.mjs", sourceMap: join(ROOT, "dist/node.mjs.map") };
    const lines = (await topSelfTime(join(profileDir, file), top, map)).map(
      (t) => `${(t.share * 100).toFixed(1).padStart(5)}%  ${t.ms.toFixed(0).padStart(6)} ms  ${t.name}`,
    );
    console.log(`top self time, config read ${status}:\n${lines.join("\n")}`);
    return lines;
  } finally {
    await rm(profileDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const only = process.argv[2];
  for (const status of [200, 304] as const) if (!only || only === String(status)) await profileReads(status);
}
