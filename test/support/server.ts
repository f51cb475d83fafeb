/**
 * Spawns a real server entry point on a free port (PORT=0) with its own data
 * directory, and collects its log lines. By default the Node entry point with tsx
 * as its loader; `command` runs another runtime, e.g. `npmScript("start:deno")`, which is the
 * package.json script's command line run without npm in between (test/npm-signals.test.ts
 * runs the scripts through npm).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "node_modules/.bin");
/** How long a server may take to log `listening` (Deno compiles TypeScript on a cold cache). */
const LISTEN_TIMEOUT_MS = 60_000;

export interface Command {
  command: string;
  args: string[];
}

/**
 * The command line of a package.json script, with its program resolved in
 * node_modules/.bin as npm would. Only plain `[exec] program arg...` scripts are
 * supported; `exec` (the shell replaced by the program, so npm's signals reach it) is
 * what spawning the program directly does anyway.
 */
export function npmScript(name: string): Command {
  const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> })
    .scripts;
  const line = scripts[name];
  if (line === undefined) throw new Error(`package.json has no script "${name}"`);
  if (/[&|;<>$`'"\\]/.test(line)) throw new Error(`script "${name}" is not a plain command line: ${line}`);
  const [program, ...args] = line
    .trim()
    .replace(/^exec\s+/, "")
    .split(/\s+/);
  return { command: join(BIN, program as string), args };
}

/**
 * True when the runtime's binary (installed by npm) starts. Where it does not,
 * the caller's tests say so loudly and skip, except under CI, where this throws.
 */
export function runtimeAvailable(name: "deno" | "bun"): boolean {
  try {
    execFileSync(join(BIN, name), ["--version"], { stdio: "pipe", timeout: 60_000 });
    return true;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    if (process.env.CI) throw new Error(`${name} cannot start here (${reason}), but CI must run the ${name} tests`);
    console.warn(`\n*** SKIPPING ${name} runtime tests: ${name} cannot start here (${reason}) ***\n`);
    return false;
  }
}

/**
 * The runtimes a server-process test runs on, each with the command that starts it
 * (undefined: spawnServer's default, Node on dist/node.mjs); Deno and Bun only where their
 * binary starts (runtimeAvailable says so loudly, and throws under CI).
 */
export function serverRuntimes(): Array<{ name: "node" | "deno" | "bun"; command: Command | undefined }> {
  const others = (["deno", "bun"] as const).filter((name) => runtimeAvailable(name));
  return [
    { name: "node", command: undefined },
    ...others.map((name) => ({ name, command: npmScript(`start:${name}`) })),
  ];
}

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
  // tsx as a loader, not the tsx CLI: the CLI is a second process that relays signals and, when its
  // child does not confirm one within 30 ms (a loaded machine), kills it and exits 128+signal.
  command: Command = { command: process.execPath, args: ["--import", "tsx", entry] },
  /** Run as this user (the caller must be root); the data directory is handed to it. */
  user?: { uid: number; gid: number },
): Promise<SpawnedServer> {
  // A DATA_DIR given by the caller is the caller's to remove; only a folder made here is removed by cleanup().
  const ownDir = env.DATA_DIR === undefined ? await mkdtemp(join(tmpdir(), "iot-srv-")) : undefined;
  const dataDir = env.DATA_DIR ?? (ownDir as string);
  if (user && ownDir) await chown(ownDir, user.uid, user.gid);
  const child = spawn(command.command, command.args, {
    ...user,
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
  const removeOwnDir = async () => {
    if (ownDir) await rm(ownDir, { recursive: true, force: true });
  };
  const exited = new Promise<number | null>((res) => {
    child.on("exit", (code) => res(code));
    // A program that cannot be spawned at all emits `error` and never `exit`.
    child.on("error", (error) => {
      out += `spawn failed: ${error.message}\n`;
      res(null);
    });
  });
  // Complete lines only (a chunk may end mid-line), and only those that are JSON objects.
  const lines = () =>
    out
      .split("\n")
      .slice(0, -1)
      .filter((l) => l.startsWith("{"))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          // Not one of the server's JSON log lines (e.g. a runtime's own message).
          return [];
        }
      });
  const url = await new Promise<string>((res, rej) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const listening = lines().find((l) => l.msg === "listening");
      if (listening) {
        clearInterval(timer);
        res(String(listening.url));
      } else if (Date.now() - started > LISTEN_TIMEOUT_MS) {
        clearInterval(timer);
        child.kill("SIGKILL");
        rej(new Error(`server did not log "listening" within ${LISTEN_TIMEOUT_MS} ms:\n${out}`));
      }
    }, 25);
    void exited.then((code) => {
      clearInterval(timer);
      rej(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  }).catch(async (error) => {
    if (env.EXPECT_BOOT_FAILURE) return "";
    // Gone first (it was killed or has exited), so nothing writes into the folder once it is removed.
    await exited;
    await removeOwnDir();
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
      await removeOwnDir();
    },
  };
}

/** Runs the entry point expecting it to fail at boot; resolves with exit code and output. */
export async function bootFailure(
  env: Record<string, string>,
  command?: Command,
): Promise<{ code: number | null; output: string }> {
  const server = await spawnServer({ ...env, EXPECT_BOOT_FAILURE: "1" }, undefined, command);
  try {
    // A server that boots would never exit: stopped (and its folder removed) at once, and reported.
    if (server.url !== "") throw new Error(`the server booted instead of failing:\n${server.output()}`);
    return { code: await server.exited, output: server.output() };
  } finally {
    await server.cleanup();
  }
}
