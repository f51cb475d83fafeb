/**
 * Cloudflare Workers entry point (`wrangler dev` / `wrangler deploy`, see wrangler.toml).
 *
 * Settings come from the Worker's bindings (vars and secrets) through the same
 * `loadSettings` as everywhere else; storage is the R2 bucket bound as BUCKET. The app
 * is built once per isolate, on its first request (bindings are only handed to
 * `fetch`), and reused. When building it fails (a missing SIGNING_KEY, an `mqtt://`
 * URL, ...), the reason is logged once as one line and every request is answered with
 * a 500 in SPEC's error shape: there is no process to stop.
 *
 * Notifications: see worker-sink.ts (one broker connection per publishing request,
 * settled in `waitUntil`). Metrics: a prom-client Registry per isolate, without
 * default (process) metrics, so a scrape shows what the one isolate that served it
 * has seen since it started; `iot_config_files_count` is recounted from R2 at each scrape.
 *
 * Must not import boot.ts or anything that reads the filesystem.
 */
import type { ExecutionContext, R2Bucket } from "@cloudflare/workers-types/2023-07-01/index.js";
import { Registry } from "prom-client";
import { type Composed, compose } from "../core/compose.js";
import { AppError, toErrorBody } from "../core/errors.js";
import { createJsonLogger, errorFields, type Logger } from "../core/logger.js";
import { SinkRegistry } from "../core/notify.js";
import {
  adminAuthConfigured,
  type Env,
  loadSettings,
  redactSettings,
  type Settings,
  SettingsError,
} from "../core/settings.js";
import { importVerificationKey, SigningKeyError } from "../core/signing-key.js";
import { countConfigFiles } from "../core/storage.js";
import { createOperationMetrics, exposition } from "../plugins/metrics/operations.js";
import { createSinkMetrics } from "../plugins/metrics/sink-metrics.js";
import { consoleSinkPlugin } from "../plugins/sinks/console.js";
import { noopSinkPlugin } from "../plugins/sinks/noop.js";
import { createR2Storage } from "../plugins/storage/r2.js";
import { VERSION } from "../version.js";
import { sinkOptions } from "./sink-options.js";
import { createRequestScopes, type RequestScopes, workerMqttPlugin } from "./worker-sink.js";

export interface WorkerEnv {
  BUCKET?: R2Bucket;
  [name: string]: unknown;
}

const RUNTIME = "Cloudflare Workers";
const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** Settings about files and sockets of a server process: meaningless on Workers, ignored. */
const NOT_ON_WORKERS = ["PORT", "HOST", "DATA_DIR", "ESP32_CONFIGS_DIR", "ASSETS_DIR", "STATE_DIR"];
/** Settings that name a file: there is no filesystem, so they are refused with what to use instead. */
const FILE_SETTINGS: Record<string, string> = {
  SIGNING_KEY_PATH: "there is no filesystem on Workers; give the PEM itself as the secret SIGNING_KEY",
  MQTT_CA_FILE: "there is no filesystem on Workers, and outbound WebSockets trust public CAs only",
};

/** Raised for a configuration the operator must fix; its message is the one line to log. */
class WorkerBootError extends Error {
  readonly code = "BOOT_FAILED";
  constructor(
    message: string,
    readonly variable?: string,
  ) {
    super(message);
  }
}

interface WorkerApp extends Composed {
  logger: Logger;
  scopes: RequestScopes;
}

/** Vars and secrets are strings (a `[vars]` value may be a TOML number or boolean); bindings are skipped. */
function settingsEnv(env: WorkerEnv): Env {
  const out: Env = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === "string") out[name] = value;
    else if (typeof value === "number" || typeof value === "boolean") out[name] = String(value);
  }
  for (const name of NOT_ON_WORKERS) delete out[name];
  return out;
}

function workerSettings(env: Env): Settings {
  for (const [name, why] of Object.entries(FILE_SETTINGS)) {
    if (env[name]) throw new SettingsError(name, `not supported: ${why}`);
  }
  const settings = loadSettings(env);
  if (!settings.signingKey) {
    throw new SettingsError(
      "SIGNING_KEY",
      "missing: Workers have no filesystem to keep a generated development key; " +
        "set it with `wrangler secret put SIGNING_KEY` (for `wrangler dev`, in .dev.vars)",
    );
  }
  if (settings.mqttCa) {
    throw new SettingsError("MQTT_CA", "not supported: outbound WebSockets on Workers trust public CAs only");
  }
  if (!adminAuthConfigured(settings) && !settings.allowAnonymousAdmin) {
    throw new SettingsError(
      "API_TOKEN_HASHES",
      "a Worker is reachable from the internet, so the admin API needs credentials: set API_TOKEN_HASHES " +
        "(npx iot-token) or OIDC_ISSUER and OIDC_AUDIENCE; ALLOW_ANONYMOUS_ADMIN=true accepts anonymous admin " +
        "on purpose (local development only)",
    );
  }
  if (settings.mqttTlsInsecure) {
    throw new SettingsError("MQTT_TLS_INSECURE", "not supported: Workers always verify TLS certificates");
  }
  return settings;
}

async function bootWorker(env: WorkerEnv): Promise<WorkerApp> {
  const vars = settingsEnv(env);
  // The level is needed before the settings are validated, to log why they are not.
  const level = LOG_LEVELS.find((l) => l === vars.LOG_LEVEL?.trim()) ?? "info";
  const logger = createJsonLogger({ level });
  try {
    const settings = workerSettings(vars);
    const bucket = env.BUCKET;
    if (!bucket || typeof bucket !== "object") {
      throw new WorkerBootError(
        'R2 bucket binding BUCKET is missing: add [[r2_buckets]] binding = "BUCKET" to wrangler.toml',
        "BUCKET",
      );
    }
    const {
      port: _port,
      host: _host,
      dataDir: _d,
      configsDir: _c,
      assetsDir: _a,
      stateDir: _s,
      ...shown
    } = redactSettings(settings);
    logger.info("starting", { runtime: RUNTIME, version: VERSION, settings: shown });

    const storage = createR2Storage({ bucket, logger });
    const verifyKey = await importVerificationKey(settings.signingKey as string).catch((error: unknown) => {
      throw error instanceof SigningKeyError ? new SettingsError("SIGNING_KEY", error.message) : error;
    });
    const registry = new Registry();
    const scopes = createRequestScopes();
    const sinks = new SinkRegistry()
      .register(noopSinkPlugin)
      .register(consoleSinkPlugin)
      .register(workerMqttPlugin(scopes));
    const sink = createSinkMetrics(registry).wrap(
      sinks.create(settings.mqttUrl, {
        logger,
        options: sinkOptions(settings, { allowTcp: false, name: RUNTIME }),
      }),
    );
    const observer = createOperationMetrics(registry);
    const render = exposition(registry);
    const composed = compose({
      settings,
      logger,
      storage,
      sink,
      observer,
      verifyKey,
      version: VERSION,
      track: scopes.track,
      publicHost: false,
      refusedBodies: "before-answer",
      metrics: async () => {
        // Isolates come and go, so the count is taken from R2 now rather than kept since boot.
        observer.configFilesCounted(await countConfigFiles(storage));
        return render();
      },
    });
    return { ...composed, logger, scopes };
  } catch (error) {
    const variable = (error as { variable?: unknown }).variable;
    const message = error instanceof Error ? error.message : String(error);
    logger.error(`boot failed, answering every request with 500: ${message}`, {
      runtime: RUNTIME,
      ...(typeof variable === "string" ? { variable } : {}),
      ...(isOperatorError(error) ? {} : errorFields(error)),
    });
    throw error;
  }
}

const isOperatorError = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    code === "INVALID_SETTING" ||
    code === "INVALID_SIGNING_KEY" ||
    code === "INVALID_SINK_URL" ||
    code === "BOOT_FAILED"
  );
};

/** What every request gets when the app could not be built: SPEC's error shape, no internals. */
function bootFailure(request: Request, error: unknown): Response {
  const given = request.headers.get("x-request-id");
  // The same rule as Hono's requestId middleware, which did not get to run.
  const correlationId = given && given.length <= 255 && !/[^\w\-=]/.test(given) ? given : crypto.randomUUID();
  const variable = (error as { variable?: unknown } | null)?.variable;
  const body = toErrorBody(
    new AppError("INTERNAL_ERROR", "The server is misconfigured and cannot serve requests; its log says why", {
      details: isOperatorError(error) && typeof variable === "string" ? { variable } : {},
    }),
    correlationId,
  );
  return Response.json(body, { status: 500, headers: { "X-Request-Id": correlationId } });
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
      return worker.scopes.run(ctx, async () => worker.app.fetch(request, {}, ctx));
    },
  };
}

export default createWorker();
