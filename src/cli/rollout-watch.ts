/**
 * `iot-rollout status ID --watch`: asks for the rollout every interval until it reaches a
 * final state, and shows it. On a terminal the frame (rollout-render.ts) is redrawn in place;
 * elsewhere (a CI log, a file, a pipe) one plain line per change, with no escape codes; with
 * --json one JSON object per change. A poll that fails for a reason that may pass (the server
 * restarting, busy) is retried; the watch gives up after MAX_MISSES in a row.
 */
import type { RolloutView } from "../features/rollouts/contract.js";
import { type CliError, isCliError } from "./errors.js";
import { shown } from "./report.js";
import { jsonLine } from "./rollout-json.js";
import { frame, isoSeconds, plainLine } from "./rollout-render.js";
import { isFinal } from "./rollout-view.js";

export interface WatchDeps {
  get: () => Promise<RolloutView>;
  /** stdout. */
  write: (text: string) => void;
  /** stderr, for failed polls when stdout is not a terminal. */
  warn: (text: string) => void;
  clock: () => Date;
  sleep: (ms: number) => Promise<void>;
  /** Set when stdout is a terminal: its width. */
  tty?: { columns: () => number };
  json: boolean;
  intervalMs: number;
}

/** Failed polls in a row before the watch gives up (with the interval's default of 1 s: about 10 s). */
export const MAX_MISSES = 10;
/** Go to the start of the line `n` lines up, and erase from there to the end of the screen. */
const up = (n: number) => `\x1b[${n}F\x1b[J`;

/** Resolves with the rollout in its final state; throws the poll's error once too many failed in a row. */
export async function watchRollout(deps: WatchDeps): Promise<RolloutView> {
  let drawn = 0;
  let shown = "";
  let misses = 0;
  let last: RolloutView | undefined;
  for (;;) {
    let miss: CliError | undefined;
    try {
      last = await deps.get();
      misses = 0;
    } catch (error) {
      if (!passing(error) || ++misses >= MAX_MISSES) throw error;
      miss = error;
    }
    const at = deps.clock();
    if (deps.tty && last) {
      const lines = frame(last, deps.tty.columns(), at);
      if (miss) lines.push(`  ${missText(miss, misses)}`);
      deps.write(`${drawn > 0 ? up(drawn) : ""}${lines.join("\n")}\n`);
      drawn = lines.length;
    } else if (miss) {
      deps.warn(`${isoSeconds(at)} ${missText(miss, misses)}\n`);
    } else if (last) {
      const line = deps.json ? jsonLine(last) : plainLine(last);
      if (line !== shown) deps.write(deps.json ? line : `${isoSeconds(at)} ${line}\n`);
      shown = line;
    }
    if (last && !miss && isFinal(last)) return last;
    await deps.sleep(deps.intervalMs);
  }
}

/** Failures a next poll may not have: the network, or a server that said it is busy (503 SERVER_BUSY and kin). */
function passing(error: unknown): error is CliError {
  return isCliError(error) && (error.code === "NETWORK" || error.retry !== undefined);
}

const missText = (error: CliError, misses: number) =>
  `poll failed (${misses} of ${MAX_MISSES} in a row, trying again): ${shown(error.message)}`;
