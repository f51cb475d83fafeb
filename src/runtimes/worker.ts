/**
 * Cloudflare Workers entry point (`wrangler dev` / `wrangler deploy`, see wrangler.toml),
 * on the one composition root (root.ts) with the Workers adapter: settings from the
 * Worker's bindings (vars and secrets), storage in the R2 bucket bound as BUCKET, the
 * signing key from the SIGNING_KEY secret, and no raw TCP and no connection that
 * outlives a request. Sinks needing one run in the notification hub, a Durable Object,
 * when it is bound as NOTIFY_HUB (worker-hub.ts); otherwise per request (worker-sink.ts).
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
import type { ExecutionContext, R2Bucket } from "@cloudflare/workers-types/2023-07-01/index.js";
import { errorFields, type Logger } from "../core/logger.js";
import { adminAuthConfigured, redactSettings, type Settings } from "../core/settings.js";
import { countConfigFiles } from "../features/configs/count.js";
import { TICK_MS } from "../features/rollouts/contract.js";
import { assetsBindingFiles } from "../plugins/docs/assets-binding.js";
import { SINK_PLUGINS } from "../plugins/sinks/index.js";
import { createR2Storage } from "../plugins/storage/r2.js";
import { VERSION } from "../version.js";
import { BootError } from "./boot-failure.js";
import { type Booted, bootRuntime, type RuntimeAdapter } from "./root.js";
import { LEFT_OUT, RUNTIME, settingsEnv, type WorkerEnv } from "./worker-env.js";
import { withHubMetrics } from "./worker-hub-metrics.js";
import { hubReceives } from "./worker-hub-reports.js";
import { createHubSink, HUB_NAME } from "./worker-hub-sink.js";
import { createRequestScopes, type RequestScopes } from "./worker-sink.js";
import { type BootFailure, bootFailureOf, unbootedResponse } from "./worker-unbooted.js";

export type { WorkerEnv } from "./worker-env.js";
/** The Durable Object class wrangler.toml binds as NOTIFY_HUB: the runtime finds it among the entry's exports. */
export { NotificationHub } from "./worker-hub.js";

function workerAdapter(env: WorkerEnv, scopes: RequestScopes): RuntimeAdapter {
  // Known once the settings are: how long a request's publishes may take after its response.
  let settle: { logger: Logger; timeoutMs: number } | undefined;
  const hubs = env.NOTIFY_HUB;
  // Set when the sink runs in the hub: /metrics then adds the hub's sink families.
  let hosted = false;
  return {
    runtime: {
      name: RUNTIME,
      capabilities: new Set(),
      leftOut: LEFT_OUT,
      // With the hub bound, plugins needing a lasting connection run there; without it, per request.
      ...(hubs
        ? {
            hosted(name: string) {
              if (!settle) throw new Error("hosted sinks are built after the settings are read");
              hosted = true;
              return createHubSink({ name, hubs, logger: settle.logger });
            },
          }
        : {}),
      perRequest(name, open) {
        if (!settle) throw new Error("per-request sinks are built after the settings are read");
        return scopes.perRequestSink({ name, open, logger: settle.logger, settleTimeoutMs: settle.timeoutMs });
      },
    },
    plugins: SINK_PLUGINS,
    prepare(settings, logger) {
      settle = { logger, timeoutMs: settings.notifyFlushTimeoutMs };
      if (!settings.signingKey) {
        throw BootError.setting(
          "SIGNING_KEY",
          "missing: Workers have no filesystem to keep a generated development key; " +
            "set it with `wrangler secret put SIGNING_KEY` (for `wrangler dev`, in .dev.vars)",
          "MISSING_SETTING",
        );
      }
      if (!adminAuthConfigured(settings) && !settings.allowAnonymousAdmin) {
        throw BootError.setting(
          "API_TOKEN_HASHES",
          "a Worker is reachable from the internet, so the admin API needs credentials: set API_TOKEN_HASHES " +
            "(npx iot-token) or OIDC_ISSUER and OIDC_AUDIENCE; ALLOW_ANONYMOUS_ADMIN=true accepts anonymous admin " +
            "on purpose (local development only)",
          "MISSING_SETTING",
        );
      }
      if (!env.BUCKET || typeof env.BUCKET !== "object") {
        throw new BootError(
          'R2 bucket binding BUCKET is missing: add [[r2_buckets]] binding = "BUCKET" to wrangler.toml',
          "BUCKET",
          "MISSING_BINDING",
        );
      }
    },
    storage: async (_settings, logger) => createR2Storage({ bucket: env.BUCKET as R2Bucket, logger }),
    swaggerUi() {
      if (!env.ASSETS || typeof env.ASSETS.fetch !== "function") {
        throw new BootError(
          'static assets binding ASSETS is missing (the API docs\' Swagger UI files): add [assets] with binding = "ASSETS" ' +
            "to wrangler.toml as in this repository's, or set API_DOCS=false",
          "ASSETS",
          "MISSING_BINDING",
        );
      }
      return assetsBindingFiles(env.ASSETS);
    },
    signingKey: async (settings) => ({ pem: settings.signingKey as string, variable: "SIGNING_KEY" }),
    shownSettings(settings: Settings) {
      const {
        port: _p,
        host: _h,
        dataDir: _d,
        configsDir: _c,
        assetsDir: _a,
        stateDir: _s,
        ...shown
      } = redactSettings(settings);
      return shown;
    },
    // Cloudflare's edge sets CF-Connecting-IP on every request, overwriting what a client sent.
    compose: {
      track: scopes.track,
      publicHost: false,
      refusedBodies: "before-answer",
      clientIpHeader: "cf-connecting-ip",
    },
    // Isolates come and go, so the count is taken from R2 at each scrape rather than kept since boot.
    exposition:
      (metrics, storage, { observer }) =>
      async () => {
        observer.configFilesCounted(await countConfigFiles(storage));
        const own = await metrics.exposition();
        if (!hosted || !hubs || !settle) return own;
        return withHubMetrics(own, () => hubs.getByName(HUB_NAME).metricsText(), settle.logger);
      },
  };
}

interface WorkerApp {
  booted: Booted;
  scopes: RequestScopes;
  /**
   * Set while the notification hub still has to be woken: with MQTT_STATUS_TOPICS it must run
   * to receive reports, even before any notification would have started it.
   */
  wakeHub?: () => Promise<void>;
  /** When this isolate last started a rollouts tick (tickRollouts). */
  tickedAt?: number;
}

async function bootWorker(env: WorkerEnv): Promise<WorkerApp | BootFailure> {
  const scopes = createRequestScopes();
  try {
    const vars = settingsEnv(env);
    const booted = await bootRuntime(vars, workerAdapter(env, scopes));
    const hubs = env.NOTIFY_HUB;
    // Without the hub, MQTT_STATUS_TOPICS has stopped the boot (the MQTT plugin's check).
    const wakeHub = hubs && hubReceives(vars) ? () => hubs.getByName(HUB_NAME).wake() : undefined;
    return { booted, scopes, wakeHub };
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

/**
 * Rollouts on Workers advance as requests come: any request of the isolate starts a tick
 * (at most one per TICK_MS) after its response, in its waitUntil. There is no timer (an
 * isolate lives by its requests), so a rollout that no request reaches — no report, no read,
 * no API call — waits for the next one; device reports, which are what tip a rollout, are
 * requests themselves.
 */
function tickRollouts(worker: WorkerApp, ctx: ExecutionContext): void {
  const now = Date.now();
  if (now - (worker.tickedAt ?? 0) < TICK_MS) return;
  worker.tickedAt = now;
  ctx.waitUntil(worker.booted.deps.rollouts.tick());
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
      return worker.scopes.run(ctx, async () => {
        tickRollouts(worker, ctx);
        return worker.booted.app.fetch(request, {}, ctx);
      });
    },
  };
}

export default createWorker();
