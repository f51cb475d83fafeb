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
 * every request is answered with a 500 in the API's error shape: there is no process to stop.
 *
 * Metrics: a registry per isolate, without process metrics, so a scrape shows what the
 * one isolate that served it has seen since it started; `iot_config_files_count` is
 * recounted from R2 at each scrape; with the hub, the sink families are the hub's, for the
 * whole Worker (worker-hub-metrics.ts). Must not import anything that reads the filesystem.
 */
import type { ExecutionContext, R2Bucket } from "@cloudflare/workers-types/2023-07-01/index.js";
import { correlationIdOf } from "../core/correlation-id.js";
import { AppError, toErrorBody } from "../core/errors.js";
import { errorFields, type Logger } from "../core/logger.js";
import { adminAuthConfigured, redactSettings, type Settings, SettingsError } from "../core/settings.js";
import { countConfigFiles } from "../features/configs/count.js";
import { assetsBindingFiles } from "../plugins/docs/assets-binding.js";
import { createR2Storage } from "../plugins/storage/r2.js";
import { BootError, type Booted, bootRuntime, type RuntimeAdapter } from "./root.js";
import { RUNTIME, settingsEnv, type WorkerEnv } from "./worker-env.js";
import { withHubMetrics } from "./worker-hub-metrics.js";
import { createHubSink, HUB_NAME } from "./worker-hub-sink.js";
import { createRequestScopes, type RequestScopes } from "./worker-sink.js";

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
    prepare(settings, logger) {
      settle = { logger, timeoutMs: settings.notifyFlushTimeoutMs };
      if (!settings.signingKey) {
        throw new SettingsError(
          "SIGNING_KEY",
          "missing: Workers have no filesystem to keep a generated development key; " +
            "set it with `wrangler secret put SIGNING_KEY` (for `wrangler dev`, in .dev.vars)",
        );
      }
      if (!adminAuthConfigured(settings) && !settings.allowAnonymousAdmin) {
        throw new SettingsError(
          "API_TOKEN_HASHES",
          "a Worker is reachable from the internet, so the admin API needs credentials: set API_TOKEN_HASHES " +
            "(npx iot-token) or OIDC_ISSUER and OIDC_AUDIENCE; ALLOW_ANONYMOUS_ADMIN=true accepts anonymous admin " +
            "on purpose (local development only)",
        );
      }
      if (!env.BUCKET || typeof env.BUCKET !== "object") {
        throw new BootError(
          'R2 bucket binding BUCKET is missing: add [[r2_buckets]] binding = "BUCKET" to wrangler.toml',
          "BUCKET",
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

/** What every request gets when the app could not be built: the API's error shape, no internals. */
function bootFailure(request: Request, error: unknown): Response {
  // The same rule as Hono's requestId middleware, which did not get to run.
  const correlationId = correlationIdOf(request.headers.get("x-request-id"));
  const variable = error instanceof BootError ? error.variable : undefined;
  const body = toErrorBody(
    new AppError("INTERNAL_ERROR", "The server is misconfigured and cannot serve requests; its log says why", {
      details: variable ? { variable } : {},
    }),
    correlationId,
  );
  return Response.json(body, { status: 500, headers: { "X-Request-Id": correlationId } });
}

interface WorkerApp {
  booted: Booted;
  scopes: RequestScopes;
}

async function bootWorker(env: WorkerEnv): Promise<WorkerApp> {
  const scopes = createRequestScopes();
  try {
    const booted = await bootRuntime(settingsEnv(env), workerAdapter(env, scopes));
    return { booted, scopes };
  } catch (error) {
    const boot =
      error instanceof BootError
        ? error
        : error instanceof SettingsError
          ? new BootError(error.message, error.variable)
          : undefined;
    // One line, as a process would print it; a programming error is logged with its details.
    console.log(
      JSON.stringify({
        time: new Date().toISOString(),
        level: "error",
        msg: `boot failed, answering every request with 500: ${boot ? boot.message : String(error)}`,
        runtime: RUNTIME,
        ...(boot?.variable ? { variable: boot.variable } : errorFields(error)),
      }),
    );
    throw boot ?? error;
  }
}

/** One Worker: the app is built on the first request of each isolate and kept for the next ones. */
export function createWorker() {
  let booting: Promise<WorkerApp> | undefined;
  return {
    async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
      // A failed boot stays failed: the bindings of an isolate never change.
      booting ??= bootWorker(env);
      let worker: WorkerApp;
      try {
        worker = await booting;
      } catch (error) {
        return bootFailure(request, error);
      }
      return worker.scopes.run(ctx, async () => worker.booted.app.fetch(request, {}, ctx));
    },
  };
}

export default createWorker();
