/**
 * Global set-up of `npm test` and `npm run test:faults`: the tests get a temporary
 * directory of their own, and the run fails when they leave anything in it.
 *
 * Why a directory of their own rather than a listing of /tmp before and after: other
 * processes on the machine (another test run among them) write to /tmp meanwhile, so
 * only a directory no one else uses tells "these tests left it" from "someone else made it".
 * Its name starts with `iot-test-`, and it is removed at the end either way, so a failed
 * check leaves no litter of its own.
 *
 * TMPDIR points at it in the test workers (and whatever they start with their
 * environment), so os.tmpdir() in every test and helper lands there. Not in vitest's
 * own process: the Workers pool runs Miniflare there, which removes its temporary
 * folder only when the pool closes, after this check.
 *
 * With IOT_TEMP_REPORT set (as .ci/run sets it), one line is appended to that file:
 * `none`, or `<n> left (<names>)`.
 */
import { appendFileSync, chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

/** The directory, and the process that owns it: with projects, this file is the set-up of more than one. */
const DIR = "IOT_TEST_TMPDIR";
const OWNER = "IOT_TEST_TMPDIR_OWNER";

/**
 * Caches that tools keep in the temporary directory on purpose, to be reused by the next
 * run (outside the tests, /tmp/tsx-<uid> stays between runs): not litter.
 */
const TOOL_CACHES = [/^tsx-\d+$/];

export default function setup(project: TestProject): (() => void) | undefined {
  const existing = process.env[OWNER] === String(process.pid) && process.env[DIR] !== undefined;
  const dir = existing ? (process.env[DIR] as string) : mkdtempSync(join(tmpdir(), "iot-test-"));
  // Read by vitest when it starts this project's workers, after every global set-up has run.
  project.config.env = { ...project.config.env, TMPDIR: dir };
  if (existing) return undefined;
  // Open to all like /tmp itself: the private Mosquitto runs as its own user and must reach its folder.
  chmodSync(dir, 0o1777);
  process.env[DIR] = dir;
  process.env[OWNER] = String(process.pid);

  return function checkNothingLeft() {
    const left = readdirSync(dir)
      .filter((name) => !TOOL_CACHES.some((cache) => cache.test(name)))
      .sort();
    rmSync(dir, { recursive: true, force: true });
    delete process.env[DIR];
    delete process.env[OWNER];
    const summary = left.length === 0 ? "none" : `${left.length} left (${left.join(", ")})`;
    if (process.env.IOT_TEMP_REPORT) appendFileSync(process.env.IOT_TEMP_REPORT, `${summary}\n`);
    if (left.length > 0) {
      // Not thrown: vitest 4 logs an error thrown by a global teardown ("error during close") and
      // still exits 0 (measured). It exits with process.exitCode, which nothing after this resets.
      console.error(`\nFAILED: the tests left files in their temporary directory: ${summary}\n`);
      process.exitCode = 1;
    }
  };
}
