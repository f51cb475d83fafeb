/**
 * Spawns the real Node entry point (as `npm start` does, through tsx) on a free
 * port with its own data directory, and collects its log lines.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
const TSX = join(ROOT, "node_modules/.bin/tsx");

export interface SpawnedServer {
  url: string;
  dataDir: string;
  child: ChildProcess;
  output(): string;
  lines(): Array<Record<string, unknown>>;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
  cleanup(): Promise<void>;
}

export async function spawnServer(
  env: Record<string, string> = {},
  entry = "src/runtimes/node.ts",
): Promise<SpawnedServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "iot-srv-"));
  const child = spawn(TSX, [entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  const lines = () =>
    out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const url = await new Promise<string>((res, rej) => {
    const timer = setInterval(() => {
      const listening = lines().find((l) => l.msg === "listening");
      if (listening) {
        clearInterval(timer);
        res(String(listening.url));
      }
    }, 25);
    void exited.then((code) => {
      clearInterval(timer);
      rej(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  }).catch((error) => {
    if (env.EXPECT_BOOT_FAILURE) return "";
    throw error;
  });
  return {
    url,
    dataDir,
    child,
    exited,
    output: () => out,
    lines,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs the entry point expecting it to fail at boot; resolves with exit code and output. */
export async function bootFailure(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const server = await spawnServer({ ...env, EXPECT_BOOT_FAILURE: "1" });
  const code = await server.exited;
  const output = server.output();
  await server.cleanup();
  return { code, output };
}
