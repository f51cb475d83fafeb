/**
 * How a server's boot ended, for tests of what the boot refuses: a refusal is a non-zero
 * exit with one plain line (not a JSON log line) naming the variable, and no stack trace.
 */
import { join } from "node:path";
import { expect } from "vitest";
import { type Command, spawnServer } from "./server.js";

export interface BootOutcome {
  /** True when the server logged `listening`: the boot was not refused. */
  booted: boolean;
  code: number | null;
  output: string;
}

/**
 * Runs an entry point and reports how its boot ended. Unlike bootFailure, a server that
 * boots when it should not is reported (and stopped) at once instead of being awaited forever.
 */
export async function bootOutcome(env: Record<string, string>, command?: Command): Promise<BootOutcome> {
  const server = await spawnServer({ ...env, EXPECT_BOOT_FAILURE: "1" }, undefined, command);
  try {
    if (server.url !== "") return { booted: true, code: null, output: server.output() };
    const code = await server.exited;
    return { booted: false, code, output: server.output() };
  } finally {
    await server.cleanup();
  }
}

/** Lines that are not the server's JSON log lines: what an operator reads as the error. */
export const plainLines = (output: string) => output.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("{"));

/** Asserts a refused boot: non-zero exit, one plain line naming `variable`, no stack frames. Returns the line. */
export function expectRefusal(outcome: BootOutcome, variable: string): string {
  expect(outcome.booted, `the server booted instead of refusing:\n${outcome.output}`).toBe(false);
  expect(outcome.code, outcome.output).not.toBeNull();
  expect(outcome.code, outcome.output).not.toBe(0);
  const lines = plainLines(outcome.output);
  expect(lines, outcome.output).toHaveLength(1);
  const line = lines[0] as string;
  expect(line).toContain(`Invalid setting ${variable}:`);
  expect(outcome.output).not.toMatch(/\n\s+at /);
  return line;
}

/** The base64 lines of a PEM: none of them may appear in any output. */
export const pemBody = (pem: string) => pem.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"));

/** ESP32_CONFIGS_DIR, ASSETS_DIR and STATE_DIR, apart from each other under `dir`, except those in `except`. */
export function apartFrom(dir: string, except: string[]): Record<string, string> {
  const all = { ESP32_CONFIGS_DIR: "configs", ASSETS_DIR: "assets", STATE_DIR: "state" };
  return Object.fromEntries(
    Object.entries(all)
      .filter(([variable]) => !except.includes(variable))
      .map(([variable, leaf]) => [variable, join(dir, leaf)]),
  );
}
