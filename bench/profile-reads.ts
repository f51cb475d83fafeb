/**
 * Where a cached config read spends its time: the server under a CPU profiler, loaded with
 * GET /files/configs/{mac}.json (200, then 304 with If-None-Match) at 50 connections; prints
 * the functions with the most self time. Node and Bun write the profile at exit (--cpu-prof,
 * after SIGTERM); Deno has no such flag, so it is profiled over its inspector. With --token,
 * the server runs DEVICE_AUTH=device and the reads carry the device's own token. Not a
 * figure: a guide for whoever makes the reads faster. Frames in Node's bundle are named by
 * their source file, through its map.
 *
 *   npx tsx bench/profile-reads.ts [node|deno|bun] [200|304] [--token]
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test/support/mosquitto.js";
import { topSelfTime } from "./support/cpu-profile.js";
import { assertClean, httpLoad, LOAD_TOOL } from "./support/http-load.js";
import { profileOver } from "./support/inspector-profile.js";
import { BENCH_SECONDS } from "./support/load.js";
import { BUN, denoServerCommand } from "./support/read-servers.js";
import { ROOT, startServer } from "./support/server.js";
import { isMain } from "./support/stats.js";

const MAC = "aa-bb-cc-dd-ee-ff";

export type ProfiledRuntime = "node" | "deno" | "bun";

/** The server's command line with its profiler on; `inspector` when the profile is taken over one. */
async function profiledCommand(
  runtime: ProfiledRuntime,
  dir: string,
): Promise<{ command: string[]; inspector?: number }> {
  if (runtime === "node") return { command: [process.execPath, "--cpu-prof", "--cpu-prof-dir", dir, "dist/node.mjs"] };
  if (runtime === "bun") return { command: [BUN, "--cpu-prof", "--cpu-prof-dir", dir, "src/runtimes/bun.ts"] };
  const inspector = await freePort();
  const [deno, run, ...args] = await denoServerCommand();
  return { command: [deno as string, run as string, `--inspect=127.0.0.1:${inspector}`, ...args], inspector };
}

export async function profileReads(
  runtime: ProfiledRuntime = "node",
  status: 200 | 304 = 200,
  options: { token?: boolean; top?: number } = {},
): Promise<string[]> {
  const profileDir = await mkdtemp(join(tmpdir(), "iot-bench-profile-"));
  try {
    const { command, inspector } = await profiledCommand(runtime, profileDir);
    const server = await startServer(options.token ? { DEVICE_AUTH: "device" } : {}, command);
    try {
      await fetch(`${server.url}/api/configs/${MAC}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ content: { deviceName: "bench-device", settings: { interval: 60 } } }),
      });
      const headers: Record<string, string> = {};
      if (options.token) {
        const issued = await fetch(`${server.url}/api/devices/${MAC}/token`, { method: "POST" });
        headers.Authorization = `Bearer ${((await issued.json()) as { token: string }).token}`;
      }
      const url = `${server.url}/files/configs/${MAC}.json`;
      if (status === 304) headers["If-None-Match"] = (await fetch(url, { headers })).headers.get("etag") ?? "";
      await httpLoad({ url, connections: 50, seconds: 1, headers });
      const load = async () => assertClean(`profile ${status}`, await httpLoad({ url, connections: 50, headers }));
      const r = inspector ? await profileOver(inspector, join(profileDir, "deno.cpuprofile"), load) : await load();
      console.log(
        `${runtime} ${status}${options.token ? " with a device token" : ""} under ${LOAD_TOOL}, 50 conns, ` +
          `${BENCH_SECONDS} s: ${r.rps.toFixed(0)} req/s (profiling slows it)`,
      );
    } finally {
      await server.stop();
    }
    const [file] = (await readdir(profileDir)).filter((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error("no .cpuprofile written: did the server exit through process.exit?");
    const map =
      runtime === "node" ? { bundle: "dist/node.mjs", sourceMap: join(ROOT, "dist/node.mjs.map") } : undefined;
    const lines = (await topSelfTime(join(profileDir, file), options.top ?? 15, map)).map(
      (t) => `${(t.share * 100).toFixed(1).padStart(5)}%  ${t.ms.toFixed(0).padStart(6)} ms  ${t.name}`,
    );
    console.log(`top self time, ${runtime} config read ${status}:\n${lines.join("\n")}`);
    return lines;
  } finally {
    await rm(profileDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const runtime = (args.find((a) => ["node", "deno", "bun"].includes(a)) ?? "node") as ProfiledRuntime;
  const only = args.find((a) => a === "200" || a === "304");
  const token = args.includes("--token");
  for (const status of [200, 304] as const)
    if (!only || only === String(status)) await profileReads(runtime, status, { token });
}
