/**
 * A rollout's state, folded from its events in key order: a pure function, so every process
 * reading the same log decides the same thing. An event the current state does not allow
 * (a second `release` of one wave written by a process that lost a race it did not see, a
 * `resume` of a running rollout, anything placed by others) changes nothing and is listed in
 * `ignored`, for the caller to log once.
 *
 * running → pause → paused → resume → running; running|paused → abort → aborted;
 * running → halt → halted; running → complete → completed;
 * paused|halted|aborted|completed → rollback → rolled_back.
 * `release k` only when running, k = last claimed wave + 1 and wave k-1 has its `released`.
 * A release under way goes on through pause (the wave finishes, no next one starts) and ends
 * at abort or rollback (its `released` never comes; the rows written so far are what a rollback restores).
 */
import type { RolloutState } from "./contract.js";
import type { DecisionCounts, RolloutEvent } from "./rollout-records.js";

export interface WaveProgress {
  /** When its `release` event was written (the view's released_at; failed reports count from it). */
  claimedAt: number | null;
  /** That event's seq: its part records name it. */
  claimSeq: number | null;
  /** When its `released` event was written: every device saved; within_s counts from it. */
  savedAt: number | null;
}

/** Work claimed by one process and not yet finished. */
export interface Work {
  /** The event that claimed it (or that a takeover took it over by). */
  seq: number;
  by: string;
  /** When it was claimed or last taken over. */
  since: number;
}

export interface Folded {
  state: RolloutState;
  waves: WaveProgress[];
  /** Waves with a `release` event (1-based count). */
  claimed: number;
  /** A release without its `released`. */
  releasing?: Work & { wave: number };
  /** A rollback without its `rolled_back`. */
  rollingBack?: Work;
  /** The counts of the last decision (release with counts, halt, complete): metrics add the delta to them. */
  lastDecision: DecisionCounts;
  /** From `rolled_back`: the devices a rollback left alone. */
  skipped: string[] | null;
  /** The highest key seen, damaged or not: the next event goes one past it. */
  lastSeq: number;
  ignored: number[];
}

export interface LoggedEvent {
  seq: number;
  /** Undefined for a damaged record: it takes its key, and nothing else. */
  event: RolloutEvent | undefined;
}

const TRANSITIONS: Partial<Record<RolloutEvent["type"], { from: RolloutState[]; to: RolloutState }>> = {
  pause: { from: ["running"], to: "paused" },
  resume: { from: ["paused"], to: "running" },
  abort: { from: ["running", "paused"], to: "aborted" },
  halt: { from: ["running"], to: "halted" },
  complete: { from: ["running"], to: "completed" },
  rollback: { from: ["paused", "halted", "aborted", "completed"], to: "rolled_back" },
};

/** Whether `action` may be taken in `state` (the API's 409 otherwise). */
export const allows = (state: RolloutState, action: "pause" | "resume" | "abort" | "rollback"): boolean =>
  (TRANSITIONS[action]?.from ?? []).includes(state);

export function fold(waveCount: number, log: readonly LoggedEvent[]): Folded {
  const out: Folded = {
    state: "running",
    waves: Array.from({ length: waveCount }, () => ({ claimedAt: null, claimSeq: null, savedAt: null })),
    claimed: 0,
    lastDecision: { applied: 0, failed: 0, released: 0 },
    skipped: null,
    lastSeq: 0,
    ignored: [],
  };
  for (const { seq, event } of [...log].sort((a, b) => a.seq - b.seq)) {
    out.lastSeq = Math.max(out.lastSeq, seq);
    if (event && !apply(out, seq, event)) out.ignored.push(seq);
  }
  return out;
}

function apply(out: Folded, seq: number, e: RolloutEvent): boolean {
  switch (e.type) {
    case "release": {
      const previousSaved = out.claimed === 0 || out.waves[out.claimed - 1]?.savedAt != null;
      if (out.state !== "running" || e.wave !== out.claimed + 1 || !previousSaved || e.wave > out.waves.length) {
        return false;
      }
      out.claimed = e.wave;
      Object.assign(out.waves[e.wave - 1] as WaveProgress, { claimedAt: e.at, claimSeq: seq });
      out.releasing = { wave: e.wave, seq, by: e.by, since: e.at };
      if (e.applied !== undefined)
        out.lastDecision = { applied: e.applied, failed: e.failed ?? 0, released: e.released ?? 0 };
      return true;
    }
    case "released": {
      const wave = out.waves[e.wave - 1];
      if (!wave || e.wave > out.claimed || wave.savedAt !== null) return false;
      wave.savedAt = e.at;
      if (out.releasing?.wave === e.wave) out.releasing = undefined;
      return true;
    }
    case "rolled_back":
      if (!out.rollingBack) return false;
      out.rollingBack = undefined;
      out.skipped = [...e.skipped].sort();
      return true;
    case "takeover": {
      const work =
        out.releasing?.seq === e.of ? out.releasing : out.rollingBack?.seq === e.of ? out.rollingBack : undefined;
      if (!work) return false;
      work.by = e.by;
      work.since = e.at;
      return true;
    }
    default: {
      const rule = TRANSITIONS[e.type];
      if (!rule?.from.includes(out.state)) return false;
      out.state = rule.to;
      if (e.type === "halt" || e.type === "complete") {
        out.lastDecision = { applied: e.applied, failed: e.failed, released: e.released };
      }
      // An abort is an emergency stop and a rollback undoes the wave: a release under way ends at its next batch.
      if (e.type === "abort" || e.type === "rollback") out.releasing = undefined;
      if (e.type === "rollback") out.rollingBack = { seq, by: e.by, since: e.at };
      return true;
    }
  }
}
