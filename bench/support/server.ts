/**
 * Starts the server (or any command) as a child process for a benchmark, waits for
 * its first 200 on /api/health, and reports how long that took.
 */
import type { ChildProcess } from "node:child_process";

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../../test/support/mosquitto.js";
import { spawnOwned } from "./owned-child.js";

export const ROOT = resolve(import.meta.dirname, "../..");

export interface BenchServer {
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** Milliseconds from spawn to the first 200 on /api/health. */
  startupMs: number;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startServer(
  env: Record<string, string> = {},
  command: string[] = [process.execPath, "--import", "tsx", "src/runtimes/node.ts"],
  healthPath = "/api/health",
): Promise<BenchServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "iot-bench-"));
  const port = await freePort();
  const started = performance.now();
  const { child, output, exited } = spawnOwned(
    command[0] as string,
    command.slice(1),
    { cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: "warn", ...env } },
    { signal: "SIGKILL", removeDir: dataDir },
  );
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited at start:\n${output()}`);
    try {
      const res = await fetch(`${url}${healthPath}`);
      if (res.status === 200) break;
    } catch {
      // Not listening yet: poll again.
    }
    if (performance.now() - started > 60_000) throw new Error(`server not healthy within 60 s:\n${output()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const startupMs = performance.now() - started;
  return {
    url,
    dataDir,
    child,
    startupMs,
    output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
