/**
 * Cloudflare Workers entry point (`wrangler dev` / `wrangler deploy`, see wrangler.toml),
 * on the one composition root (root.ts) with the Workers adapter: settings from the
 * Worker's bindings (vars and secrets), storage in the R2 bucket bound as BUCKET, the
 * signing key from the SIGNING_KEY secret, and no raw TCP and no connection that
 * outlives a request (sinks needing one run per request: see worker-sink.ts).
 *
 * The app is built once per isolate, on its first request (bindings are only handed to
 * `fetch`), and reused. When building it fails, the reason is logged once as one line and
 * every request is answered with a 500 in SPEC's error shape: there is no process to stop.
 *
 * Metrics: a registry per isolate, without process metrics, so a scrape shows what the
 * one isolate that served it has seen since it started; `iot_config_files_count` is
 * recounted from R2 at each scrape. Must not import anything that reads the filesystem.
 */
import type { ExecutionContext, R2Bucket } from "@cloudflare/workers-types/2023-07-01/index.js";
import { AppError, toErrorBody } from "../core/errors.js";
import { errorFields, type Logger } from "../core/logger.js";
import { adminAuthConfigured, type Env, redactSettings, type Settings, SettingsError } from "../core/settings.js";
import { countConfigFiles } from "../core/storage.js";
import { createR2Storage } from "../plugins/storage/r2.js";
import { BootError, type Booted, bootRuntime, type RuntimeAdapter } from "./root.js";
import { createRequestScopes, type RequestScopes } from "./worker-sink.js";

export interface WorkerEnv {
  BUCKET?: R2Bucket;
  [name: string]: unknown;
}

const RUNTIME = "Cloudflare Workers";
/** Settings about files and sockets of a server process: meaningless on Workers, ignored. */
const NOT_ON_WORKERS = ["PORT", "HOST", "DATA_DIR", "ESP32_CONFIGS_DIR", "ASSETS_DIR", "STATE_DIR"];
/** Settings that name a file: there is no filesystem, so they are refused with what to use instead. */
const FILE_SETTINGS: Record<string, string> = {
  SIGNING_KEY_PATH: "there is no filesystem on Workers; give the PEM itself as the secret SIGNING_KEY",
  MQTT_CA_FILE: "there is no filesystem on Workers, and outbound WebSockets trust public CAs only",
};
/** Sink settings Workers cannot honour (their outbound TLS is the platform's). */
const REFUSED: Record<string, string> = {
  MQTT_CA: "outbound WebSockets on Workers trust public CAs only",
  MQTT_TLS_INSECURE: "Workers always verify TLS certificates",
};

/** Vars and secrets are strings (a `[vars]` value may be a TOML number or boolean); bindings are skipped. */
function settingsEnv(env: WorkerEnv): Env {
  const out: Env = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === "string") out[name] = value;
    else if (typeof value === "number" || typeof value === "boolean") out[name] = String(value);
  }
  for (const name of NOT_ON_WORKERS) delete out[name];
  for (const [name, why] of Object.entries(FILE_SETTINGS)) {
    if (out[name]) throw new SettingsError(name, `not supported: ${why}`);
  }
  for (const [name, why] of Object.entries(REFUSED)) {
    if (out[name] && out[name] !== "false") throw new SettingsError(name, `not supported: ${why}`);
  }
  return out;
}

function workerAdapter(env: WorkerEnv, scopes: RequestScopes): RuntimeAdapter {
  // Known once the settings are: how long a request's publishes may take after its response.
  let settle: { logger: Logger; timeoutMs: number } | undefined;
  return {
    runtime: {
      name: RUNTIME,
      capabilities: new Set(),
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
    compose: { track: scopes.track, publicHost: false, refusedBodies: "before-answer" },
    // Isolates come and go, so the count is taken from R2 at each scrape rather than kept since boot.
    exposition:
      (metrics, storage, { observer }) =>
      async () => {
        observer.configFilesCounted(await countConfigFiles(storage));
        return metrics.exposition();
      },
  };
}

/** What every request gets when the app could not be built: SPEC's error shape, no internals. */
function bootFailure(request: Request, error: unknown): Response {
  const given = request.headers.get("x-request-id");
  // The same rule as Hono's requestId middleware, which did not get to run.
  const correlationId = given && given.length <= 255 && !/[^\w\-=]/.test(given) ? given : crypto.randomUUID();
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
