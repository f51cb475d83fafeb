/**
 * How the one composition root (root.ts) is adapted to Workers, for both places the app is
 * built: an isolate serving requests (worker.ts), and the rollout driver, a Durable Object
 * releasing rollout waves (worker-rollouts.ts). Both read the same bindings the same way:
 * settings from vars and secrets, storage in the R2 bucket bound as BUCKET, the signing key
 * from the SIGNING_KEY secret, and no raw TCP. They differ in where a sink needing a lasting
 * connection runs: with the notification hub bound (NOTIFY_HUB), in the hub for both; without
 * it, per request in an isolate (worker-sink.ts), and in the driver itself, which, being a
 * Durable Object, can keep a connection.
 * Must not import anything that reads the filesystem.
 */
import type { R2Bucket } from "@cloudflare/workers-types/2023-07-01/index.js";
import type { Logger } from "../core/logger.js";
import { adminAuthConfigured, redactSettings, type Settings } from "../core/settings.js";
import type { RuntimeInfo } from "../core/sinks/plugin.js";
import { countConfigFiles } from "../features/configs/count.js";
import { assetsBindingFiles } from "../plugins/docs/assets-binding.js";
import { SINK_PLUGINS } from "../plugins/sinks/index.js";
import { createR2Storage } from "../plugins/storage/r2.js";
import { BootError } from "./boot-failure.js";
import type { RuntimeAdapter } from "./root.js";
import { LEFT_OUT, RUNTIME, type WorkerEnv } from "./worker-env.js";
import { withHubMetrics } from "./worker-hub-metrics.js";
import { createHubSink, HUB_NAME } from "./worker-hub-sink.js";
import type { RequestScopes } from "./worker-sink.js";

/** Where the app is built: an isolate (its requests' scopes), or the rollout driver with what its API calls must do. */
export type WorkerPlace =
  | { isolate: RequestScopes; rolloutDriver: NonNullable<RuntimeAdapter["compose"]>["rolloutDriver"] }
  | { driver: true };

export function workerAdapter(env: WorkerEnv, place: WorkerPlace): RuntimeAdapter {
  // Known once the settings are: how long a request's publishes may take after its response.
  let settle: { logger: Logger; timeoutMs: number } | undefined;
  const hubs = env.NOTIFY_HUB;
  const scopes = "isolate" in place ? place.isolate : undefined;
  // Set when the sink runs in the hub: /metrics then adds the hub's sink families.
  let hosted = false;
  const runtime: RuntimeInfo = {
    name: scopes ? RUNTIME : `${RUNTIME} (rollout driver)`,
    // A Durable Object keeps its connections between calls; an isolate keeps none across requests.
    capabilities: new Set(!scopes && !hubs ? ["longLivedConnections"] : []),
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
    ...(scopes
      ? {
          perRequest(name: string, open: Parameters<NonNullable<RuntimeInfo["perRequest"]>>[1]) {
            if (!settle) throw new Error("per-request sinks are built after the settings are read");
            return scopes.perRequestSink({ name, open, logger: settle.logger, settleTimeoutMs: settle.timeoutMs });
          },
        }
      : {}),
  };
  return {
    runtime,
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
      ...(scopes ? { track: scopes.track } : {}),
      publicHost: false,
      refusedBodies: "before-answer",
      clientIpHeader: "cf-connecting-ip",
      rolloutDriver: "rolloutDriver" in place ? place.rolloutDriver : "here",
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
