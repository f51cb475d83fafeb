/**
 * Preloaded into a spawned server (`node --import tsx --import ./test/support/shifted-clock.ts`)
 * to run its wall clock TEST_CLOCK_SHIFT_MS ahead of the machine's: the server then acts
 * now as it would that much later (its timestamp checks and its marker sweeps included),
 * so a test needs no minutes-long wait. Only `Date.now` moves; the process is otherwise
 * the real server. Use `shiftedClockCommand()` as spawnServer's command.
 */
import type { Command } from "./server.js";

const shiftMs = Number(process.env.TEST_CLOCK_SHIFT_MS ?? "0");
if (!Number.isFinite(shiftMs))
  throw new Error(`TEST_CLOCK_SHIFT_MS is not a number: ${process.env.TEST_CLOCK_SHIFT_MS}`);
if (shiftMs !== 0) {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + shiftMs;
}

/** The Node entry point with this module preloaded (give TEST_CLOCK_SHIFT_MS in the server's environment). */
export const shiftedClockCommand = (entry = "src/runtimes/node.ts"): Command => ({
  command: process.execPath,
  args: ["--import", "tsx", "--import", "./test/support/shifted-clock.ts", entry],
});
