/**
 * The rollout engine (contract.ts `Rollouts`) over the state store, the configs and the fleet
 * records. All state lives in the store (rollout-records.ts): a restart continues where the
 * log says, and processes or isolates sharing the store coordinate through create-only keys
 * only (a definition id, the next event): whoever creates the key decided; whoever finds it
 * taken reads again. Nothing here holds state another process needs.
 */
import { AppError, conflict, validationFailed } from "../../core/errors.js";
import { errorFields } from "../../core/logger.js";
import { macOfConfigFile } from "../../core/names.js";
import type { StateStore } from "../../core/state.js";
import type { FleetRecords } from "../fleet/fleet-records.js";
import {
  type DeviceOutcome,
  ROLLOUT_STATES,
  type RolloutAction,
  type RolloutSpec,
  type RolloutState,
  type Rollouts,
  type RolloutView,
} from "./contract.js";
import { createDecisions } from "./decisions.js";
import type { WorkContext } from "./device-writes.js";
import { waveBounds } from "./outcomes.js";
import { allows } from "./rollout-fold.js";
import { createRolloutLog } from "./rollout-log.js";
import { type Definition, MAX_TARGETS } from "./rollout-records.js";
import { createRolloutViews } from "./rollout-views.js";

/** Creates retried after another create took the same id, before answering 503. */
const CREATE_TRIES = 20;
const MAX_ID = 999_999_999;
/** How long a rollback waits for another process's release of a wave to stop (LIST_MS and a batch, with room). */
const STOP_GRACE_MS = 2000;
const STUCK_TICK_MS = 30_000;
/** Rollouts that need no decision (halted, aborted, completed) are looked at this rarely, for a rollback left half done. */
const QUIET_MS = 5000;

export interface RolloutsOptions extends Omit<WorkContext, "log" | "processId" | "now"> {
  state: StateStore;
  records: Pick<FleetRecords, "devices">;
  /** iot_rollout_device_outcomes_total (observer.rolloutDeviceOutcomes). */
  counted: (outcome: DeviceOutcome, devices: number) => void;
  /** Hands background work to the runtime that must wait for it (Workers: waitUntil). */
  track?: (settled: Promise<void>) => void;
  now?: () => number;
  /** Lower-case hex; a random one by default (a restarted process is a new one). */
  processId?: string;
  /**
   * Who claims and releases waves. "here" (the default): this process, in the background of
   * create and resume and on its runtime's ticks. `{ wake }`: a driver elsewhere (on Workers,
   * the RolloutDriver Durable Object), because work a request leaves behind dies with its
   * isolate: this engine then records only what the API decides (the definition, pause,
   * resume, abort; a rollback runs in its request) and awaits `wake()` after a create, a
   * resume or a rollback, so the driver claims a wave at once (or looks after a rollback).
   * `wake` never throws: a driver it could not reach is the caller's to log and wake later.
   */
  driver?: "here" | { wake: () => Promise<void> };
}

export function createRollouts(options: RolloutsOptions): Rollouts {
  const now = options.now ?? Date.now;
  const processId = options.processId ?? crypto.randomUUID().replaceAll("-", "");
  const { logger, storage } = options;
  const elsewhere = typeof options.driver === "object" ? options.driver : undefined;
  const log = createRolloutLog(options.state, logger, now);
  const ctx: WorkContext = { ...options, log, processId, now };
  const views = createRolloutViews({ log, records: options.records, logger, now });
  let closed = false;
  let ticking: { done: Promise<void>; since: number } | undefined;
  let again = false;
  /** Rollouts a tick skips until then: no decision is due (paused, halted, …; rolled back: forever). */
  const quietUntil = new Map<number, number>();
  /** Rollouts that can never be running or paused again: a create need not read their log. */
  const finished = new Set<number>();

  /** A tick failing for good (a data directory gone) is said once a minute, not every TICK_MS. */
  let lastFailure = { text: "", at: Number.NEGATIVE_INFINITY };
  const tickFailed = (error: unknown, id?: number) => {
    const fields = { ...(id === undefined ? {} : { rollout_id: String(id) }), ...errorFields(error) };
    const text = JSON.stringify(fields);
    if (text === lastFailure.text && now() - lastFailure.at < 60_000) return;
    lastFailure = { text, at: now() };
    logger.warn("a rollout tick failed; the next one tries again", fields);
  };

  const nudge = () => {
    if (closed) return;
    if (ticking) again = true;
    // Tracked: on Workers, work a finished request started without waitUntil never settles.
    else options.track?.(engine.tick());
  };
  const decisions = createDecisions({ ...options, ctx, views, nudge, closing: () => closed });

  const resolveTargets = async (targets: RolloutSpec["targets"]): Promise<string[]> => {
    if (targets === "all") {
      // Names only, in MAC order: parsing 10,000 configs here cost the 201 seconds. A config
      // that cannot be read is found at its release (it then counts failed).
      const all = (await storage.list("configs")).flatMap((name) => macOfConfigFile(name) ?? []).sort();
      if (all.length === 0) throw validationFailed('targets is "all" but there is no config', { field: "targets" });
      if (all.length > MAX_TARGETS) throw validationFailed(`more than ${MAX_TARGETS} targets`, { field: "targets" });
      return all;
    }
    const stored = new Set(await storage.list("configs"));
    const missing = targets.find((mac) => !stored.has(`${mac}.json`));
    if (missing) throw validationFailed(`Target ${missing} has no config`, { field: "targets", mac_address: missing });
    return targets;
  };

  /** The first running or paused rollout that holds one of `targets`. */
  const taken = async (targets: string[], defs: Map<number, Definition>) => {
    const wanted = new Set(targets);
    for (const def of defs.values()) {
      if (finished.has(def.id)) continue;
      const { state } = (await views.snapshot(def, true)).folded;
      if (state !== "running" && state !== "paused") {
        finished.add(def.id);
        continue;
      }
      const mac = def.spec.targets.find((m) => wanted.has(m));
      if (mac) return { mac, id: def.id };
    }
    return undefined;
  };

  const create = async (spec: RolloutSpec): Promise<RolloutView> => {
    const targets = await resolveTargets(spec.targets);
    for (let i = 0; i < CREATE_TRIES; i++) {
      const defs = await log.definitions();
      const holder = await taken(targets, defs);
      if (holder) {
        throw conflict(`Target ${holder.mac} is already in rollout ${holder.id}, which is running or paused`, {
          mac_address: holder.mac,
          rollout_id: String(holder.id),
        });
      }
      const id = log.lastId() + 1;
      if (id > MAX_ID) break;
      const def: Definition = {
        id,
        name: spec.name,
        created_at: new Date(now()).toISOString(),
        spec: { ...spec, targets },
      };
      if (!(await log.define(def))) continue;
      logger.info("rollout created", { rollout_id: String(id), targets: targets.length, waves: spec.waves.length });
      if (elsewhere) {
        await elsewhere.wake();
        return views.view(await views.snapshot(def, true));
      }
      const claimed = await decisions.append(def, (f) =>
        f.claimed === 0 && f.state === "running"
          ? { type: "release", wave: 1, applied: 0, failed: 0, released: 0 }
          : undefined,
      );
      if (claimed) {
        const [start, end] = waveBounds(def)[0] as [number, number];
        options.counted("released", end - start);
        decisions.startRelease(def, 1, claimed.seq);
      }
      return views.view(await views.snapshot(def));
    }
    throw new AppError("SERVER_BUSY", "Rollouts are being created too fast to take an id; retry", {
      headers: { "Retry-After": "1" },
    });
  };

  const act = async (id: string, action: RolloutAction): Promise<RolloutView> => {
    const def = await views.definition(id);
    let refused: string | undefined;
    const written = await decisions.append(def, (f) => {
      refused = allows(f.state, action) ? undefined : f.state;
      return refused ? undefined : { type: action };
    });
    if (!written) {
      throw conflict(
        `Rollout ${def.id} is ${refused ?? "changing"}: it cannot be ${action === "abort" ? "aborted" : `${action}d`}`,
        {
          rollout_id: String(def.id),
          state: refused,
        },
      );
    }
    logger.info(`rollout ${action}`, { rollout_id: String(def.id) });
    quietUntil.delete(def.id);
    if (elsewhere && action !== "pause" && action !== "abort") await elsewhere.wake();
    else if (action === "resume") nudge();
    if (action !== "rollback") return views.view(await views.snapshot(def, elsewhere !== undefined));
    // A release under way stops at its next batch (the fold ended it); its rows are then final.
    // Here: awaited. In another process: it sees the rollback within LIST_MS and one batch of saves.
    await Promise.allSettled(decisions.working(def.id));
    const other = written.folded.releasing;
    if (other && other.by !== processId) await new Promise((done) => setTimeout(done, STOP_GRACE_MS));
    const { skipped } = await decisions.rollback(def, written.seq);
    return { ...(await views.view(await views.snapshot(def, true))), details: { skipped } };
  };

  const round = async () => {
    for (const def of (await log.definitions()).values()) {
      if (closed) return;
      if ((quietUntil.get(def.id) ?? 0) > now()) continue;
      try {
        await decisions.step(def);
        const { folded } = await views.snapshot(def);
        const idle = folded.state !== "running" && !folded.releasing && !folded.rollingBack;
        if (idle) quietUntil.set(def.id, folded.state === "rolled_back" ? Number.POSITIVE_INFINITY : now() + QUIET_MS);
      } catch (error) {
        tickFailed(error, def.id);
      }
    }
  };

  const engine: Rollouts = {
    create,
    async list() {
      const defs = [...(await log.definitions()).values()].sort((a, b) => b.id - a.id);
      const devices = await views.devices();
      return Promise.all(defs.map(async (def) => views.view(await views.snapshot(def), devices)));
    },
    async get(id) {
      return views.view(await views.snapshot(await views.definition(id)));
    },
    act,
    async tick() {
      // With a driver elsewhere, deciding is the driver's alone: nothing here claims a wave.
      if (closed || elsewhere) return;
      // A tick only reads and appends (the work it starts runs apart): one pending this long hangs
      // on storage that never answers (or a runtime that dropped it), so another is started.
      if (ticking && now() - ticking.since < STUCK_TICK_MS) {
        again = true;
        return ticking.done;
      }
      if (ticking) logger.warn("a rollout tick never finished; starting another", { since_ms: now() - ticking.since });
      const done = (async () => {
        do {
          again = false;
          await round().catch(tickFailed);
        } while (again && !closed);
      })().finally(() => {
        if (ticking?.done === done) ticking = undefined;
      });
      ticking = { done, since: now() };
      return done;
    },
    async active() {
      for (const def of (await log.definitions()).values()) {
        if (quietUntil.get(def.id) === Number.POSITIVE_INFINITY) continue;
        const { folded } = await views.snapshot(def);
        if (folded.state === "running" || folded.releasing || folded.rollingBack) return true;
      }
      return false;
    },
    async counts() {
      const out = Object.fromEntries(ROLLOUT_STATES.map((s) => [s, 0])) as Record<RolloutState, number>;
      for (const def of (await log.definitions()).values()) out[(await views.snapshot(def)).folded.state]++;
      return out;
    },
    async close() {
      closed = true;
      await ticking?.done;
      await decisions.settle();
    },
  };
  return engine;
}
