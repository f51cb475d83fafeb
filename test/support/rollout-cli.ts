/**
 * iot-rollout run in the test's own process (runRollout with this process's fetch, clock and
 * timers, stdout not a terminal), for the many runs whose subject is what the command does
 * with an answer: a child process per run (cli-run.ts) costs a TypeScript loader start each.
 * Tests that are about the command as a program (its bin, exit status, a terminal) spawn it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { readTextFile, runRollout } from "../../src/cli/rollout-main.js";
import type { Finished } from "./cli-run.js";

export async function rolloutHere(argv: string[], env: Record<string, string> = {}): Promise<Finished> {
  let stdout = "";
  let stderr = "";
  const code = await runRollout({
    argv,
    env,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    fetch: globalThis.fetch,
    clock: () => new Date(),
    sleep: (ms) => sleep(ms),
    platform: process.platform,
    readText: readTextFile,
  });
  return { code, stdout, stderr };
}
