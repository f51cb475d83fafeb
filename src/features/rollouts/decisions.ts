/**
 * One rollout's round of a tick, and the work it starts: decide (halt, complete, release the
 * next wave) by appending the decision event after the last one seen, so that of processes
 * deciding at once exactly one succeeds; do the work the event claims (release.ts, rollback.ts)
 * in the background, tracked so shutdown waits for it; and take over work whose process
 * stopped (no heartbeat for STALE_WORK_MS). The process that wrote a decision counts the device
 * outcomes it adds to the previous decision, so each is counted once across processes.
 */
import { errorFields } from "../../core/logger.js";
import type { DeviceOutcome } from "./contract.js";
import { STALE_WORK_MS, type WorkContext } from "./device-writes.js";
import { decide, waveBounds } from "./outcomes.js";
import { releaseWave } from "./release.js";
import { type RollbackResult, rollBack } from "./rollback.js";
import type { Folded, Work } from "./rollout-fold.js";
import type { DecisionCounts, Definition, RolloutEvent } from "./rollout-records.js";
import type { RolloutViews, Snapshot } from "./rollout-views.js";

/** Appends retried after losing a race to another writer, before giving up until the next tick. */
const APPEND_TRIES = 20;

type NewEvent = RolloutEvent extends infer E ? (E extends RolloutEvent ? Omit<E, "at" | "by"> : never) : never;

export interface Decisions {
  /** Decides for one rollout and starts or takes over its work; throws on a storage failure (the tick logs it). */
  step(def: Definition): Promise<void>;
  /**
   * Appends `make(folded)` after the newest event, re-reading and asking again when another
   * writer got there first; `make` answers undefined when the event no longer applies.
   */
  append(
    def: Definition,
    make: (folded: Folded) => NewEvent | undefined,
  ): Promise<{ seq: number; folded: Folded } | undefined>;
  startRelease(def: Definition, wave: number, seq: number): void;
  rollback(def: Definition, seq: number): Promise<RollbackResult>;
  /** This process's work on rollout `id` still running. */
  working(id: number): Promise<void>[];
  /** Waits for every piece of work started here. */
  settle(): Promise<void>;
}

export function createDecisions(options: {
  ctx: WorkContext;
  views: RolloutViews;
  counted: (outcome: DeviceOutcome, devices: number) => void;
  track?: (settled: Promise<void>) => void;
  /** Asks for another tick soon (a wave just finished, so the next decision need not wait). */
  nudge: () => void;
  /**
   * True once the engine closes: a wave being saved stops at its next batch (its heartbeat
   * stops too, so the next process, or this one restarted, takes it over), so a graceful
   * shutdown never waits for a whole wave.
   */
  closing: () => boolean;
}): Decisions {
  const { ctx, views, counted, track, nudge, closing } = options;
  const { log, logger, processId } = ctx;
  const running = new Map<string, { id: number; done: Promise<void> }>();

  const append: Decisions["append"] = async (def, make) => {
    for (let i = 0; i < APPEND_TRIES; i++) {
      const { folded } = await views.snapshot(def, true);
      const event = make(folded);
      if (!event) return undefined;
      const seq = await log.append(def, folded.lastSeq, { ...event, at: ctx.now(), by: processId } as RolloutEvent);
      if (seq !== undefined) return { seq, folded };
    }
    return undefined;
  };

  const run = (def: Definition, seq: number, work: () => Promise<void>) => {
    const key = `${def.id}:${seq}`;
    if (running.has(key)) return running.get(key)?.done as Promise<void>;
    const done = work()
      .catch((error: unknown) => {
        // The work stays claimed: without a heartbeat it is taken over (by this process too) after STALE_WORK_MS.
        logger.warn("rollout work stopped by an error; it is taken over later", {
          rollout_id: String(def.id),
          ...errorFields(error),
        });
      })
      .finally(() => running.delete(key));
    running.set(key, { id: def.id, done });
    track?.(done);
    return done;
  };

  const mine = (seq: number, pick: (f: Folded) => Work | undefined) => (folded: Folded) => {
    const work = pick(folded);
    return work?.seq === seq && work.by === processId;
  };

  const startRelease = (def: Definition, wave: number, seq: number) => {
    const isMine = mine(seq, (f) => f.releasing);
    void run(def, seq, async () => {
      const stillMine = async () => !closing() && isMine((await views.snapshot(def)).folded);
      if (!(await releaseWave(ctx, def, wave, seq, stillMine))) {
        if (closing())
          logger.info("a wave's release stops for the shutdown; it is taken over", {
            rollout_id: String(def.id),
            wave,
          });
        return;
      }
      await append(def, (f) => (isMine(f) ? { type: "released", wave } : undefined));
      nudge();
    });
  };

  const rollback = async (def: Definition, seq: number): Promise<RollbackResult> => {
    let result: RollbackResult = { skipped: [], restored: 0 };
    const isMine = mine(seq, (f) => f.rollingBack);
    await run(def, seq, async () => {
      const { folded } = await views.snapshot(def, true);
      result = await rollBack(ctx, def, folded.waves, seq);
      const written = await append(def, (f) =>
        isMine(f) ? { type: "rolled_back", skipped: result.skipped } : undefined,
      );
      if (!written) return;
      counted("rolled_back", result.restored);
      counted("skipped", result.skipped.length);
    });
    return result;
  };

  /** Work claimed by a process that no longer beats is taken over; this process's own is left to run. */
  const takeOver = async (def: Definition, work: Work, resume: () => void) => {
    if (running.has(`${def.id}:${work.seq}`)) return;
    const beat = await log.lastHeartbeat(def);
    const last = Math.max(work.since, beat?.seq === work.seq && beat.by === work.by ? beat.at : 0);
    if (ctx.now() - last < STALE_WORK_MS) return;
    // Only the holder judged stale: when two processes take over at once, the second finds the
    // first holding it (by, since changed) and leaves it, so the work never runs twice.
    const unchanged = (w: Work | undefined) => w?.seq === work.seq && w.by === work.by && w.since === work.since;
    const taken = await append(def, (f) =>
      unchanged(f.releasing) || unchanged(f.rollingBack) ? { type: "takeover", of: work.seq } : undefined,
    );
    if (!taken) return;
    logger.info("taking over rollout work whose process stopped", {
      rollout_id: String(def.id),
      of: work.seq,
      idle_ms: ctx.now() - last,
    });
    resume();
  };

  const countDecision = (last: DecisionCounts, now: DecisionCounts) => {
    counted("applied", Math.max(0, now.applied - last.applied));
    counted("failed", Math.max(0, now.failed - last.failed));
  };

  const decideAndAct = async (snapshot: Snapshot) => {
    const { def } = snapshot;
    const counts = await views.counts(snapshot);
    const decision = decide(def, snapshot.folded.claimed, counts);
    if (!decision) return;
    const tally = { applied: counts.applied, failed: counts.failed, released: counts.released };
    const written = await append(def, (f) => {
      // Decided on what this process saw; written only if nothing changed that state meanwhile.
      if (f.state !== "running" || f.releasing || f.claimed !== snapshot.folded.claimed) return undefined;
      return decision.type === "release"
        ? { type: "release", wave: decision.wave, ...tally }
        : { type: decision.type, ...tally };
    });
    if (!written) return;
    countDecision(written.folded.lastDecision, tally);
    logger.info(
      `rollout ${decision.type === "release" ? `wave ${decision.wave} released` : decision.type === "halt" ? "halted" : "completed"}`,
      {
        rollout_id: String(def.id),
        ...tally,
      },
    );
    if (decision.type !== "release") return;
    const [start, end] = waveBounds(def)[decision.wave - 1] as [number, number];
    counted("released", end - start);
    startRelease(def, decision.wave, written.seq);
  };

  return {
    append,
    startRelease,
    rollback,
    async step(def) {
      const snapshot = await views.snapshot(def);
      const { releasing, rollingBack } = snapshot.folded;
      if (releasing) await takeOver(def, releasing, () => startRelease(def, releasing.wave, releasing.seq));
      if (rollingBack) await takeOver(def, rollingBack, () => void rollback(def, rollingBack.seq));
      if (snapshot.folded.state === "running" && !releasing) await decideAndAct(snapshot);
    },
    working: (id) => [...running.values()].filter((w) => w.id === id).map((w) => w.done),
    async settle() {
      while (running.size > 0) await Promise.allSettled([...running.values()].map((w) => w.done));
    },
  };
}
