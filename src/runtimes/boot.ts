/**
 * Start-up shared by the runtimes that have a filesystem (Node, Deno, Bun):
 * environment → settings → storage, key, sink, metrics → composed app.
 * Anything invalid raises a BootError whose message is the one line to print.
 */
import { readFile } from "node:fs/promises";
import { Registry } from "prom-client";
import { type Composed, compose } from "../core/compose.js";
import { createJsonLogger, type Logger } from "../core/logger.js";
import type { NotificationSink, SinkRegistry } from "../core/notify.js";
import { type Env, loadSettings, redactSettings, type Settings, SettingsError } from "../core/settings.js";
import { importVerificationKey, SigningKeyError } from "../core/signing-key.js";
import { countConfigFiles } from "../core/storage.js";
import { createOperationMetrics, exposition } from "../plugins/metrics/operations.js";
import { createSinkMetrics } from "../plugins/metrics/sink-metrics.js";
import { defaultSinkRegistry } from "../plugins/sinks/index.js";
import { createFsStorage } from "../plugins/storage/fs.js";
import { VERSION } from "../version.js";
import { prepareDataDirectories } from "./data-dirs.js";
import { loadSigningKeyPem } from "./signing-key-file.js";
import { sinkOptions } from "./sink-options.js";

export class BootError extends Error {
  readonly code = "BOOT_FAILED";
}

export interface Booted extends Composed {
  settings: Settings;
  logger: Logger;
  sink: NotificationSink;
  registry: Registry;
}

export interface BootOptions {
  env: Env;
  runtime: string;
  sinks?: SinkRegistry;
  /** Adds runtime-specific metrics (e.g. Node's process metrics) to the registry. */
  instrument?: (registry: Registry) => void;
  write?: (line: string) => void;
}

/** Errors whose message is already a safe, one-line explanation for the operator. */
const isOperatorError = (error: unknown) =>
  error instanceof SettingsError ||
  error instanceof SigningKeyError ||
  (typeof error === "object" && error !== null && (error as { code?: unknown }).code === "INVALID_SINK_URL");

export async function boot(options: BootOptions): Promise<Booted> {
  try {
    const settings = loadSettings(options.env);
    const logger = createJsonLogger({ level: settings.logLevel, write: options.write });
    logger.info("starting", { runtime: options.runtime, version: VERSION, settings: redactSettings(settings) });

    await prepareDataDirectories(settings);
    const storage = await createFsStorage({
      configsDir: settings.configsDir,
      assetsDir: settings.assetsDir,
      stateDir: settings.stateDir,
      logger,
    });
    const verifyKey = await verificationKey(settings, logger);
    const registry = new Registry();
    options.instrument?.(registry);
    const sinks = options.sinks ?? defaultSinkRegistry();
    // Every sink, whichever plugin made it, is wrapped by the metrics decorator here, once.
    const sink = createSinkMetrics(registry).wrap(
      sinks.create(settings.mqttUrl, {
        logger,
        options: sinkOptions(settings, { allowTcp: true, name: options.runtime }, await readCaFile(settings)),
      }),
    );

    const observer = createOperationMetrics(registry);
    // Count once at boot (names only); writes then keep the gauge current.
    observer.configFilesCounted(await countConfigFiles(storage));

    const composed = compose({
      settings,
      logger,
      storage,
      sink,
      observer,
      verifyKey,
      version: VERSION,
      metrics: exposition(registry),
    });
    return { ...composed, settings, logger, sink, registry };
  } catch (error) {
    if (isOperatorError(error)) throw new BootError((error as Error).message, { cause: error });
    throw error;
  }
}

/** The upload-verification key; a key that cannot be used names the setting it came from. */
async function verificationKey(settings: Settings, logger: Logger): Promise<CryptoKey> {
  const { pem, variable } = await loadSigningKeyPem(settings, logger);
  try {
    return await importVerificationKey(pem);
  } catch (error) {
    if (error instanceof SigningKeyError) throw new SettingsError(variable, error.message);
    throw error;
  }
}

async function readCaFile(settings: Settings): Promise<string | undefined> {
  if (!settings.mqttCaFile) return undefined;
  try {
    return await readFile(settings.mqttCaFile, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code ?? "unknown error";
    throw new SettingsError("MQTT_CA_FILE", `cannot read the CA file (${code})`);
  }
}

export interface ShutdownReport {
  delivered: number;
  failed: number;
  abandoned: number;
}

/** Stop-the-world order: caller stops accepting requests first, then this flushes and closes the sink. */
export async function drainNotifications(booted: Booted): Promise<ShutdownReport> {
  const { notifier, sink, logger, settings } = booted;
  const pending = notifier.pending();
  logger.info("flushing notifications", { pending, timeout_ms: settings.mqttFlushTimeoutMs });
  const result = await notifier.flush(settings.mqttFlushTimeoutMs);
  await sink.close();
  logger.info("notifications flushed", { pending_at_shutdown: pending, ...result });
  return result;
}
