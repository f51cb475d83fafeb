/**
 * The filesystem runtimes (Node, Deno, Bun): their RuntimeAdapter for the one
 * composition root (root.ts): data directories, filesystem storage, the signing key from
 * SIGNING_KEY, SIGNING_KEY_PATH or a generated development key, and every capability a
 * sink plugin may ask for. Also the notification drain their shutdown runs.
 */
import { readFile } from "node:fs/promises";
import type { Registry } from "prom-client";
import type { AppDeps } from "../core/deps.js";
import { errorFields } from "../core/logger.js";
import type { FlushResult } from "../core/notifier.js";
import { type Env, SettingsError } from "../core/settings.js";
import type { SinkPlugin } from "../core/sinks/plugin.js";
import { countConfigFiles } from "../features/configs/count.js";
import { locateSwaggerUi, packageFiles } from "../plugins/docs/package-files.js";
import { SWAGGER_UI_VERSION, type SwaggerUiFiles } from "../plugins/docs/swagger-ui.js";
import { SERVER_SINK_PLUGINS } from "../plugins/sinks/server.js";
import { createFsStorage } from "../plugins/storage/fs.js";
import { checkBeforeWriting } from "./boot-checks.js";
import { prepareDataDirectories } from "./data-dirs.js";
import { driveRollouts } from "./rollout-timer.js";
import { type Booted, bootRuntime, type RuntimeAdapter } from "./root.js";
import { loadSigningKeyPem } from "./signing-key-file.js";

export { BootError, type Booted } from "./root.js";

export interface BootOptions {
  env: Env;
  runtime: string;
  /** Default: SERVER_SINK_PLUGINS, every plugin a server process can run. */
  plugins?: readonly SinkPlugin[];
  /** Adds runtime-specific metrics (e.g. Node's process metrics) to the registry. */
  instrument?: (registry: Registry) => void;
  write?: (line: string) => void;
  /** The runtime's fast path for large device reads (Node's), if it has one. */
  sendNative?: AppDeps["sendNative"];
}

/** Swagger UI's files beside the bundle or installed, or a refusal naming API_DOCS. */
async function swaggerUiFiles(): Promise<SwaggerUiFiles> {
  const dir = await locateSwaggerUi();
  if (!dir) {
    throw new SettingsError(
      "API_DOCS",
      `Swagger UI's files (swagger-ui-dist ${SWAGGER_UI_VERSION}) are neither beside the bundle (dist/swagger-ui-dist) ` +
        "nor installed: deploy dist/ whole (npm run build copies them there), or set API_DOCS=false",
    );
  }
  return packageFiles(dir);
}

export function fsRuntimeAdapter(options: BootOptions): RuntimeAdapter {
  const runtime: RuntimeAdapter["runtime"] = {
    name: options.runtime,
    capabilities: new Set(["tcp", "longLivedConnections", "filesystem"]),
    readFile: (path) => readFile(path, "utf8"),
  };
  const plugins = options.plugins ?? SERVER_SINK_PLUGINS;
  // Looked up once: by the checks before the boot writes anything, then by the app.
  let swaggerUi: Promise<SwaggerUiFiles> | undefined;
  const findSwaggerUi = () => {
    swaggerUi ??= swaggerUiFiles();
    return swaggerUi;
  };
  return {
    runtime,
    plugins,
    // Everything that can refuse the boot first; the data directories only once nothing will.
    async prepare(settings, logger) {
      await checkBeforeWriting(settings, { env: options.env, logger, runtime, plugins, swaggerUi: findSwaggerUi });
      await prepareDataDirectories(settings);
    },
    storage: (settings, logger) =>
      createFsStorage({
        configsDir: settings.configsDir,
        assetsDir: settings.assetsDir,
        stateDir: settings.stateDir,
        logger,
      }),
    signingKey: (settings, logger) => loadSigningKeyPem(settings, logger),
    instrument: (metrics) => options.instrument?.(metrics.registry),
    // Counted once at boot (names only); writes then keep the gauge current.
    countConfigs: async (storage, metrics) => metrics.observer.configFilesCounted(await countConfigFiles(storage)),
    write: options.write,
    swaggerUi: findSwaggerUi,
    compose: { sendNative: options.sendNative },
  };
}

/** The rollouts' timer of each booted server, stopped by drainNotifications. */
const rolloutTimers = new WeakMap<Booted, () => void>();

export async function boot(options: BootOptions): Promise<Booted> {
  const booted = await bootRuntime(options.env, fsRuntimeAdapter(options));
  rolloutTimers.set(booted, driveRollouts(booted.deps.rollouts, booted.logger));
  return booted;
}

/**
 * Stops the rollouts' timer and waits for their work in progress to stop (a wave being saved
 * stops at its next batch, to be taken over by the next process; a rollback asked by a
 * request has finished with it): its saves' notifications are then pending in the notifier
 * before it is flushed, and nothing reads the fleet records once they close.
 */
async function closeRollouts(booted: Booted): Promise<void> {
  rolloutTimers.get(booted)?.();
  try {
    await booted.deps.rollouts.close();
  } catch (error) {
    booted.logger.warn("rollout work did not finish at shutdown; another process takes it over", errorFields(error));
  }
}

export type ShutdownReport = FlushResult;

/**
 * Writes the device fetches and the MQTT reports this process holds and has not written yet
 * (fleet-records.ts). Called by drainNotifications after the sink is closed (so no report
 * arrives after it) and before the storage is let go. A failure is logged: what was not
 * written is then lost, as after kill -9.
 */
async function flushFleetRecords(booted: Booted): Promise<void> {
  try {
    await booted.deps.fleet.records.close();
  } catch (error) {
    booted.logger.warn("could not write the last device fetch records at shutdown", errorFields(error));
  }
}

/**
 * Stop-the-world order: the caller stops accepting requests first; then this lets the rollouts'
 * work in progress finish, flushes the notifications, closes the sink (which stops receiving
 * MQTT reports), writes the fleet records still in memory, and lets the storage go.
 */
export async function drainNotifications(booted: Booted): Promise<ShutdownReport> {
  const { notifier, sink, logger, settings } = booted;
  await closeRollouts(booted);
  const pending = notifier.pending();
  logger.info("flushing notifications", { pending, timeout_ms: settings.notifyFlushTimeoutMs });
  const result = await notifier.flush(settings.notifyFlushTimeoutMs);
  await sink.close();
  await flushFleetRecords(booted);
  // A rotation's older tokens deleted in the background (a failure there is logged, and harmless).
  await booted.deps.devices.tokens.settled();
  // Stops the directory watchers; nothing reads after the HTTP server has drained.
  await booted.deps.storage.dispose?.();
  // The outcomes (success, failure, dropped, skipped: the words of the metrics' `outcome` label)
  // and `abandoned` cover the notifications still pending when the shutdown began (a quiet server
  // logs zeros there); since_start covers the whole run.
  logger.info("notifications flushed", {
    pending_at_shutdown: pending,
    ...result,
    since_start: notifier.totals(),
  });
  return result;
}
