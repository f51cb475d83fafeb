/**
 * Cloudflare Workers entry point (`wrangler dev` / `wrangler deploy`, see wrangler.toml),
 * on the one composition root (root.ts) with the Workers adapter: settings from the
 * Worker's bindings (vars and secrets), storage in the R2 bucket bound as BUCKET, the
 * signing key from the SIGNING_KEY secret, and no raw TCP and no connection that
 * outlives a request. Sinks needing one run in the notification hub, a Durable Object,
 * when it is bound as NOTIFY_HUB (worker-hub.ts); otherwise per request (worker-sink.ts).
 * Rollout waves are released by another Durable Object, the rollout driver bound as ROLLOUTS
 * (worker-rollouts.ts): an isolate records what the rollouts API decides and wakes it; without
 * the binding the rollouts routes answer 503 and everything else works.
 *
 * The app is built once per isolate, on its first request (bindings are only handed to
 * `fetch`), and reused. When building it fails, the reason is logged once as one line and
 * every request is answered 503 saying why (worker-unbooted.ts): there is no process to stop.
 * Its sink plugins are those of plugins/sinks/index.ts only: plugins needing raw TCP or a
 * filesystem (plugins/sinks/server.ts) are never imported here, so they cost the bundle nothing.
 *
 * Metrics: a registry per isolate, without process metrics, so a scrape shows what the
 * one isolate that served it has seen since it started; `iot_config_files_count` is
 * recounted from R2 at each scrape; with the hub, the sink families are the hub's, for the
 * whole Worker (worker-hub-metrics.ts). Must not import anything that reads the filesystem.
 */
import type { ExecutionContext } from "@cloudflare/workers-types/2023-07-01/index.js";
import { errorFields } from "../core/logger.js";
import { VERSION } from "../version.js";
import { type Booted, bootRuntime } from "./root.js";
import { workerAdapter } from "./worker-adapter.js";
import { RUNTIME, settingsEnv, type WorkerEnv } from "./worker-env.js";
import { hubReceives } from "./worker-hub-reports.js";
import { HUB_NAME } from "./worker-hub-sink.js";
import { DRIVER_BINDING, DRIVER_NAME, driverMissing } from "./worker-rollouts.js";
import { createRequestScopes, type RequestScopes } from "./worker-sink.js";
import { type BootFailure, bootFailureOf, unbootedResponse } from "./worker-unbooted.js";

export type { WorkerEnv } from "./worker-env.js";
/** The Durable Object class wrangler.toml binds as NOTIFY_HUB: the runtime finds it among the entry's exports. */
export { NotificationHub } from "./worker-hub.js";
/** The Durable Object class wrangler.toml binds as ROLLOUTS. */
export { RolloutDriver } from "./worker-rollouts.js";

interface WorkerApp {
  booted: Booted;
  scopes: RequestScopes;
  /**
   * Set while the notification hub still has to be woken: with MQTT_STATUS_TOPICS it must run
   * to receive reports, even before any notification would have started it.
   */
  wakeHub?: () => Promise<void>;
  /**
   * Set while the rollout driver is to be woken on this isolate's next request if a rollout is
   * active: at start (it picks up anything active it is not ticking for: belt and braces over its
   * persisted alarm), and again after a wake that failed. Unset without the ROLLOUTS binding.
   */
  wakeRollouts?: () => Promise<void>;
}

async function bootWorker(env: WorkerEnv): Promise<WorkerApp | BootFailure> {
  const scopes = createRequestScopes();
  const drivers = env.ROLLOUTS && typeof env.ROLLOUTS.getByName === "function" ? env.ROLLOUTS : undefined;
  // The app is not built yet when the engine is given its driver: a failed wake is said once it is.
  let app: WorkerApp | undefined;
  const wakeDriver = async () => {
    try {
      // A fresh stub each time: a stub belongs to the request that made it.
      await drivers?.getByName(DRIVER_NAME).wake();
    } catch (error) {
      app?.booted.logger.warn(
        "could not wake the rollout driver; this isolate tries again on its next request",
        errorFields(error),
      );
      if (app) app.wakeRollouts = wakeDriver;
    }
  };
  try {
    const vars = settingsEnv(env);
    const rolloutDriver = drivers ? { wake: wakeDriver } : { unavailable: driverMissing() };
    const booted = await bootRuntime(vars, workerAdapter(env, { isolate: scopes, rolloutDriver }));
    if (!drivers) {
      booted.logger.warn(
        `the Durable Object binding ${DRIVER_BINDING} is missing: rollouts routes answer 503 SERVER_MISCONFIGURED; ` +
          "everything else works",
      );
    }
    const hubs = env.NOTIFY_HUB;
    // Without the hub, MQTT_STATUS_TOPICS has stopped the boot (the MQTT plugin's check).
    const wakeHub = hubs && hubReceives(vars) ? () => hubs.getByName(HUB_NAME).wake() : undefined;
    app = { booted, scopes, wakeHub, wakeRollouts: drivers ? wakeDriver : undefined };
    return app;
  } catch (error) {
    const failure = bootFailureOf(error);
    // One line, as a process would print it; an unexpected error is logged with its details.
    console.log(
      JSON.stringify({
        time: new Date().toISOString(),
        level: "error",
        msg: `boot failed, answering every request with 503: ${failure.code === "BOOT_FAILED" ? String(error) : failure.reason}`,
        runtime: RUNTIME,
        code: failure.code,
        ...(failure.variable ? { variable: failure.variable } : errorFields(error)),
      }),
    );
    return failure;
  }
}

/** One Worker: the app is built on the first request of each isolate and kept for the next ones. */
export function createWorker() {
  let booting: Promise<WorkerApp | BootFailure> | undefined;
  return {
    async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
      // A failed boot stays failed: the bindings of an isolate never change.
      booting ??= bootWorker(env);
      const worker = await booting;
      if (!("booted" in worker)) return unbootedResponse(request, worker, VERSION);
      const wake = worker.wakeHub;
      if (wake) {
        // Once per isolate; tried again on a later request if the hub could not start.
        worker.wakeHub = undefined;
        ctx.waitUntil(
          wake().catch((error: unknown) => {
            worker.booted.logger.warn(
              "could not wake the notification hub to receive status reports",
              errorFields(error),
            );
            worker.wakeHub = wake;
          }),
        );
      }
      const wakeRollouts = worker.wakeRollouts;
      if (wakeRollouts) {
        worker.wakeRollouts = undefined;
        // Only when a rollout is active: a woken driver builds an app of its own, and without the
        // hub that means a broker connection of its own, for nothing while no rollout runs.
        ctx.waitUntil(
          worker.booted.deps.rollouts.active().then(
            (active) => (active ? wakeRollouts() : undefined),
            (error: unknown) => {
              worker.booted.logger.warn(
                "could not look for active rollouts; tried again on the next request",
                errorFields(error),
              );
              worker.wakeRollouts = wakeRollouts;
            },
          ),
        );
      }
      return worker.scopes.run(ctx, async () => worker.booted.app.fetch(request, {}, ctx));
    },
  };
}

export default createWorker();
