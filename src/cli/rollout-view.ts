/**
 * The server's answers about rollouts, checked to have SPEC's *rollout* shape before anything
 * is printed or decided from them (a watch stops on `state`). Strings are kept as the server
 * sent them, so --json prints the same data; whatever shows them on a terminal passes them
 * through forTerminal (rollout-render.ts), since a name is anyone's text.
 */
import {
  EVIDENCE,
  ROLLOUT_STATES,
  type RolloutCounts,
  type RolloutView,
  type RolloutWave,
  type WaveCounts,
} from "../features/rollouts/contract.js";

type Loose = Record<string, unknown>;

const isObject = (v: unknown): v is Loose => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isPercent = (v: unknown): v is number => typeof v === "number" && v >= 0 && v <= 100;

/** The text of an answer → the rollout it holds, or undefined when it is not one. */
export function rolloutOfText(text: string): RolloutView | undefined {
  return rolloutOf(parsed(text));
}

/** GET /api/rollouts → its rollouts, or undefined when the answer is not `{"rollouts": [...], "count": n}`. */
export function rolloutListOfText(text: string): RolloutView[] | undefined {
  const value = parsed(text);
  if (!isObject(value) || !Array.isArray(value.rollouts) || !isCount(value.count)) return undefined;
  const rollouts = value.rollouts.map(rolloutOf);
  if (rollouts.some((r) => r === undefined) || rollouts.length !== value.count) return undefined;
  return rollouts as RolloutView[];
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON (a proxy's page): the caller says the answer was not a rollout.
    return undefined;
  }
}

export function rolloutOf(v: unknown): RolloutView | undefined {
  if (!isObject(v)) return undefined;
  const { id, name, state, created_at, patch, evidence, advance_when, halt_when, waves, counts, details } = v;
  if (typeof id !== "string" || typeof name !== "string" || typeof created_at !== "string") return undefined;
  if (!(ROLLOUT_STATES as readonly unknown[]).includes(state)) return undefined;
  if (!(EVIDENCE as readonly unknown[]).includes(evidence) || !isObject(patch)) return undefined;
  if (!isObject(advance_when) || !isPercent(advance_when.applied_percent) || !isCount(advance_when.within_s)) {
    return undefined;
  }
  if (!isObject(halt_when) || !isPercent(halt_when.failed_percent)) return undefined;
  if (!Array.isArray(waves) || waves.length === 0 || !waves.every(isWave)) return undefined;
  if (!isCounts(counts)) return undefined;
  const skipped = skippedOf(details);
  if (skipped === null) return undefined;
  return {
    id,
    name,
    state: state as RolloutView["state"],
    created_at,
    patch,
    evidence: evidence as RolloutView["evidence"],
    advance_when: { applied_percent: advance_when.applied_percent, within_s: advance_when.within_s },
    halt_when: { failed_percent: halt_when.failed_percent },
    waves: waves.map(({ percent, devices, released_at, counts: c }) => ({
      percent,
      devices,
      released_at,
      // The server's extension: a server without it gets rows without a bar of their own.
      ...(c === undefined
        ? {}
        : { counts: { released: c.released, applied: c.applied, failed: c.failed, pending: c.pending } }),
    })),
    counts: {
      targets: counts.targets,
      released: counts.released,
      applied: counts.applied,
      failed: counts.failed,
      pending: counts.pending,
    },
    ...(skipped === undefined ? {} : { details: { skipped } }),
  };
}

function isWave(w: unknown): w is RolloutWave {
  return (
    isObject(w) &&
    isPercent(w.percent) &&
    isCount(w.devices) &&
    (w.released_at === null || typeof w.released_at === "string") &&
    (w.counts === undefined || isWaveCounts(w.counts, w.devices))
  );
}

/** A wave's counts: whole numbers that add up and fit in the wave (a bar drawn from others would lie). */
function isWaveCounts(c: unknown, devices: number): c is WaveCounts {
  return (
    isObject(c) &&
    isCount(c.released) &&
    isCount(c.applied) &&
    isCount(c.failed) &&
    isCount(c.pending) &&
    c.released <= devices &&
    c.applied + c.failed + c.pending === c.released
  );
}

function isCounts(c: unknown): c is RolloutCounts {
  return (
    isObject(c) &&
    isCount(c.targets) &&
    isCount(c.released) &&
    isCount(c.applied) &&
    isCount(c.failed) &&
    isCount(c.pending)
  );
}

/** details.skipped when present; null when details is there but not in the agreed shape. */
function skippedOf(details: unknown): string[] | undefined | null {
  if (details === undefined) return undefined;
  if (!isObject(details)) return null;
  if (details.skipped === undefined) return undefined;
  const { skipped } = details;
  return Array.isArray(skipped) && skipped.every((m) => typeof m === "string") ? skipped : null;
}

/** A terminal state: nothing will change any more (rollback from halted/aborted/completed aside, which an operator starts). */
export const FINAL_STATES = ["completed", "halted", "aborted", "rolled_back"] as const;
export const isFinal = (view: RolloutView): boolean => (FINAL_STATES as readonly string[]).includes(view.state);
