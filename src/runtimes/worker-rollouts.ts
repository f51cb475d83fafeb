/**
 * The rollout driver: a Durable Object (bound as ROLLOUTS, see wrangler.toml) that claims and
 * releases rollout waves on Workers, where an isolate cannot: work a request leaves behind dies
 * with its isolate, and a 5,000-device wave outlives any request's waitUntil. Isolates record
 * what the API decides (features/rollouts/engine.ts with a driver elsewhere) and wake the one
 * object named "rollouts" after a create, a resume or a rollback; it then ticks from its alarm
 * every TICK_MS for as long as a rollout is active (running, or work left half done), and
 * lets the alarm lapse when none is: no idle alarms.
 *
 * A separate object from the notification hub, so a wave being saved never delays
 * notifications, and it works without the hub (no NOTIFY_URL) too. It builds the same app from
 * the same bindings as an isolate (worker-adapter.ts): the R2 storage, the configs, the fleet
 * records read from R2, and the notifier, through the hub when it is bound (so a release
 * notifies like a PUT, in the hub's one ordered queue), else through a sink of its own.
 * Its release work runs apart from the alarm that started it; the alarm coming back every
 * TICK_MS keeps the object in memory meanwhile, and work cut short (the object evicted or
 * restarted) is taken over from the log once its heartbeat is 10 s old, as between processes.
 */
import { DurableObject } from "cloudflare:workers";
import type { DurableObjectState } from "@cloudflare/workers-types/2023-07-01/index.js";
import { AppError } from "../core/errors.js";
import { errorFields } from "../core/logger.js";
import { type Rollouts, TICK_MS } from "../features/rollouts/contract.js";
import { type Booted, bootRuntime } from "./root.js";
import { workerAdapter } from "./worker-adapter.js";
import { RUNTIME, settingsEnv, type WorkerEnv } from "./worker-env.js";

/** The driver's RPC methods, as a stub offers them. */
export interface RolloutDriverRpc {
  /** Ticks at once (a new rollout's first wave is claimed before this resolves) and keeps ticking while any is active. */
  wake(): Promise<void>;
}

/** The part of the ROLLOUTS binding (a Durable Object namespace) used here. */
export interface RolloutDriverNamespace {
  getByName(name: string): RolloutDriverRpc;
}

/** One driver per Worker: every isolate wakes the same object. */
export const DRIVER_NAME = "rollouts";
export const DRIVER_BINDING = "ROLLOUTS";
/** After a tick that failed (R2 unreachable, say), the next is tried this much later rather than every TICK_MS. */
export const RETRY_MS = 5000;

/** What every rollouts route answers on a Worker without the driver's binding (the rest of the API works). */
export const driverMissing = () =>
  new AppError(
    "SERVER_MISCONFIGURED",
    `Rollouts need the rollout driver: the Durable Object binding ${DRIVER_BINDING} is missing; add its ` +
      "[[durable_objects.bindings]] and migration to wrangler.toml as in this repository's",
    { details: { variable: DRIVER_BINDING, reason_code: "MISSING_BINDING" } },
  );

export class RolloutDriver extends DurableObject<WorkerEnv> implements RolloutDriverRpc {
  #booting: Promise<Booted> | undefined;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
  }

  /** Built on the first call or alarm; a failed boot is tried again on the next one. */
  #booted(): Promise<Booted> {
    // No API docs here: the driver serves no request, and needs no ASSETS binding.
    const vars = { ...settingsEnv(this.env), API_DOCS: "false" };
    this.#booting ??= bootRuntime(vars, workerAdapter(this.env, { driver: true })).catch((error: unknown) => {
      this.#booting = undefined;
      throw error;
    });
    return this.#booting;
  }

  async wake(): Promise<void> {
    const booted = await this.#booted();
    await booted.deps.rollouts.tick();
    await this.#keepTicking(booted);
  }

  override async alarm(): Promise<void> {
    const started = Date.now();
    let rollouts: Rollouts | undefined;
    try {
      const { deps, logger } = await this.#booted();
      rollouts = deps.rollouts;
      await rollouts.tick();
      if (await rollouts.active()) await this.ctx.storage.setAlarm(Math.max(Date.now(), started + TICK_MS));
      else logger.info("no rollout is active: the rollout driver stops ticking until it is woken");
    } catch (error) {
      // Never thrown on: the runtime gives up on an alarm after a few failed retries, and with
      // it on the rollouts. Tried again later instead (a boot failure is the isolates' to say).
      this.#log(rollouts ? "a rollout tick failed" : "the rollout driver could not start", error);
      await this.ctx.storage.setAlarm(Date.now() + RETRY_MS);
    }
  }

  /** Sets the alarm when a rollout is active and none is set (an alarm under way sets its own next one). */
  async #keepTicking({ deps, logger }: Booted): Promise<void> {
    if (!(await deps.rollouts.active()) || (await this.ctx.storage.getAlarm()) !== null) return;
    await this.ctx.storage.setAlarm(Date.now() + TICK_MS);
    logger.info("a rollout is active: the rollout driver ticks", { every_ms: TICK_MS });
  }

  #log(msg: string, error: unknown): void {
    console.log(
      JSON.stringify({
        time: new Date().toISOString(),
        level: "warn",
        msg: `${msg}; trying again in ${RETRY_MS} ms`,
        runtime: `${RUNTIME} (rollout driver)`,
        ...errorFields(error),
      }),
    );
  }
}
