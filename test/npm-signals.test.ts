/**
 * Each runtime started through npm, as the README starts it (`npm start`, `npm run
 * start:deno`, `npm run start:bun`), and stopped with SIGTERM sent to npm's PID, as a
 * service manager or a container runtime sends it. npm forwards SIGTERM to its child
 * and exits with the child's status; the child must be the runtime itself, which is why
 * every start script ends in `exec` (without it the child is `sh -c …`, which dies of
 * the signal and leaves the runtime serving, re-parented).
 *
 * `npm start` builds dist/node.mjs before serving it, and other test files run
 * `npm start` too; scripts/build.mjs renames each output over the old one, so a build
 * running beside a starting server never shows it a half-written bundle.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { runtimeAvailable, type SpawnedServer, spawnServer } from "./support/server.js";
import { waitUntil } from "./support/wait.js";

/** Children of a process, from /proc (Linux, as CI is). */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return text === "" ? [] : text.split(/\s+/).map(Number);
}

/** A process's children, their children, and so on. */
function descendantsOf(pid: number): number[] {
  return childrenOf(pid).flatMap((child) => [child, ...descendantsOf(child)]);
}

/** The program a process runs (argv[0]), or undefined once it is gone. */
function programOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
  } catch {
    return undefined;
  }
}

/** True while the process exists (and is not a zombie waiting for its parent). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

const scripts = [
  { script: "start", runtime: "node", available: () => true },
  { script: "start:deno", runtime: "deno", available: () => runtimeAvailable("deno") },
  { script: "start:bun", runtime: "bun", available: () => runtimeAvailable("bun") },
] as const;

describe("SIGTERM to npm reaches the runtime", () => {
  let server: SpawnedServer | undefined;
  /** Everything npm had started once the server listened. */
  let started: number[] = [];
  afterEach(async () => {
    // On failure a runtime may outlive npm (re-parented): each is stopped by its own PID.
    for (const pid of started) if (alive(pid)) process.kill(pid, "SIGKILL");
    await server?.cleanup();
    server = undefined;
    started = [];
  });

  for (const { script, runtime, available } of scripts) {
    it.skipIf(!available())(
      `npm run ${script}: the runtime (${runtime}) logs "shutting down" and exits 0, and so does npm`,
      async () => {
        // No update check: npm would otherwise look one up over the network.
        server = await spawnServer({ LOG_LEVEL: "info", npm_config_update_notifier: "false" }, undefined, {
          command: "npm",
          args: ["run", script, "--silent"],
        });
        const npmPid = server.child.pid as number;
        started = descendantsOf(npmPid);
        // Listening, so the script's shell has run `exec`: npm's only child must be the runtime itself.
        const children = childrenOf(npmPid);
        expect(children).toHaveLength(1);
        const runtimePid = children[0] as number;
        expect(programOf(runtimePid)).toBe(runtime);
        expect((await fetch(`${server.url}/api/health`)).status).toBe(200);

        expect(await server.stop("SIGTERM")).toBe(0);
        expect(server.lines().find((l) => l.msg === "shutting down")).toMatchObject({ signal: "SIGTERM" });
        expect(server.lines().some((l) => l.msg === "notifications flushed")).toBe(true);
        // npm waits for its child, so the runtime is gone by now; polled all the same, for a slow /proc.
        await waitUntil(`${runtime} (PID ${runtimePid}) to be gone`, () => !alive(runtimePid), 5_000);
      },
    );
  }
});
