/**
 * The one composition root, shared by Node, Deno, Bun and Workers: environment →
 * settings → storage, key, sink (from the one plugin list), metrics → the composed app.
 * What differs between runtimes comes in through a RuntimeAdapter. Anything invalid
 * becomes a BootError whose message is the one line to print (or, on Workers, to log).
 */
import type { AuthPlugin } from "../core/auth/plugin.js";
import { type Composed, compose } from "../core/compose.js";
import { createJsonLogger, type Logger, type LogLevel } from "../core/logger.js";
import { redactSettingValues } from "../core/setting-spec.js";
import { type Env, loadSettings, redactSettings, type Settings, SettingsError } from "../core/settings.js";
import type { NotificationSink } from "../core/sinks/contract.js";
import type { RuntimeInfo, SinkPlugin } from "../core/sinks/plugin.js";
import { SinkRegistry } from "../core/sinks/registry.js";
import type { StorageDriver } from "../core/storage.js";
import { importVerificationKey, SigningKeyError } from "../features/assets/signing-key.js";
import { attachStatusReports } from "../features/fleet/status-receiver.js";
import { adminAuthPlugin } from "../plugins/auth/index.js";
import { selectApiDocs } from "../plugins/docs/index.js";
import type { SwaggerUiFiles } from "../plugins/docs/swagger-ui.js";
import { createMetrics, type Metrics } from "../plugins/metrics/index.js";
import { createNoopSink } from "../plugins/sinks/noop.js";
import { VERSION } from "../version.js";
import { asBootError } from "./boot-failure.js";

export { BootError } from "./boot-failure.js";

export interface KeySource {
  pem: string;
  /** The setting the key came from, named in any error about it. */
  variable: string;
}

export interface RuntimeAdapter {
  runtime: RuntimeInfo;
  /**
   * The sink plugins this runtime's build carries: Workers only those of
   * plugins/sinks/index.ts, the server processes also those of plugins/sinks/server.ts.
   */
  plugins: readonly SinkPlugin[];
  /** Runtime-specific checks and refusals, before anything is built (Workers: a key is required, …). */
  prepare?(settings: Settings, logger: Logger): void | Promise<void>;
  storage(settings: Settings, logger: Logger): Promise<StorageDriver>;
  signingKey(settings: Settings, logger: Logger): Promise<KeySource>;
  /** Adds runtime metrics (Node's process metrics) to the registry. */
  instrument?(metrics: Metrics): void;
  /** The settings worth printing at start (Workers leave out what does not apply there). */
  shownSettings?(settings: Settings): Record<string, unknown>;
  /** Passed to the app; see ComposeOptions. */
  compose?: Pick<
    Parameters<typeof compose>[0],
    "track" | "publicHost" | "refusedBodies" | "sendNative" | "peerAddress" | "clientIpHeader" | "rolloutDriver"
  >;
  /** Replaces the /metrics exposition (Workers recount config files at each scrape). */
  exposition?(
    metrics: Metrics,
    storage: StorageDriver,
    composed: { observer: Metrics["observer"] },
  ): Metrics["exposition"];
  /** Called once the config count can be taken (the filesystem runtimes count at boot). */
  countConfigs?(storage: StorageDriver, metrics: Metrics): Promise<void>;
  /** Where log lines go; stdout by default. */
  write?: (line: string) => void;
  /** How this runtime reads Swagger UI's files; asked only when API_DOCS is on, and refuses the boot when it cannot. */
  swaggerUi(settings: Settings): SwaggerUiFiles | Promise<SwaggerUiFiles>;
}

export interface Booted extends Composed {
  settings: Settings;
  logger: Logger;
  sink: NotificationSink;
  metrics: Metrics;
}

const LOG_LEVELS: LogLevel[] = ["debug", "info", "warn", "error"];

/** The sink NOTIFY_URL selects (the no-op sink when unset), wrapped by the metrics decorator. */
async function buildSink(settings: Settings, env: Env, logger: Logger, adapter: RuntimeAdapter) {
  const registry = new SinkRegistry(adapter.plugins);
  if (!settings.notifyUrl) {
    registry.checkAllSettings(env);
    registry.checkDemands(env, undefined);
    logger.info("NOTIFY_URL is not set: update notifications are disabled (no-op sink)");
    return { sink: createNoopSink(), hosted: false };
  }
  const {
    sink,
    plugin,
    settings: own,
    hosted,
  } = await registry.create({
    url: settings.notifyUrl,
    urlVariable: settings.notifyUrlVariable,
    env,
    logger,
    runtime: adapter.runtime,
  });
  logger.info("notification sink", {
    sink: plugin.name,
    url: redactSettings(settings).notifyUrl,
    settings: redactSettingValues(plugin.settings, own as Record<string, unknown>),
  });
  return { sink, hosted };
}

/**
 * The core's settings and the auth plugin's, each read and validated by its owner; of the
 * plugin's, the core's Settings carry only what it must know (AdminAccess).
 */
export function loadSettingsWith<S>(env: Env, auth: AuthPlugin<S>): { settings: Settings; auth: S } {
  const core = loadSettings(env);
  const own = auth.load(env);
  return { settings: { ...core, ...auth.access(own) }, auth: own };
}

export async function bootRuntime(
  env: Env,
  adapter: RuntimeAdapter,
  authPlugin: AuthPlugin = adminAuthPlugin,
): Promise<Booted> {
  // The level is needed before the settings are validated, to log why they are not.
  const level = LOG_LEVELS.find((l) => l === env.LOG_LEVEL?.trim()) ?? "info";
  let logger = createJsonLogger({ level, write: adapter.write });
  try {
    const { settings, auth } = loadSettingsWith(env, authPlugin);
    logger = createJsonLogger({ level: settings.logLevel, write: adapter.write });
    const shown = { ...(adapter.shownSettings?.(settings) ?? redactSettings(settings)), ...authPlugin.redact(auth) };
    logger.info("starting", { runtime: adapter.runtime.name, version: VERSION, settings: shown });
    await adapter.prepare?.(settings, logger);

    const storage = await adapter.storage(settings, logger);
    const key = await adapter.signingKey(settings, logger);
    const verifyKey = await importVerificationKey(key.pem).catch((error: unknown) => {
      throw error instanceof SigningKeyError ? new SettingsError(key.variable, error.message) : error;
    });
    const built = await buildSink(settings, env, logger, adapter);
    // A hosted sink is counted where it runs (the Workers hub), so this registry leaves its families out.
    const metrics = createMetrics(undefined, { sink: built.hosted ? "elsewhere" : "here" });
    adapter.instrument?.(metrics);
    // Every sink, whichever plugin made it, is wrapped by the metrics decorator once: here, or by its host.
    const sink = metrics.wrapSink(built.sink);
    await adapter.countConfigs?.(storage, metrics);

    const composed = compose({
      settings,
      auth: authPlugin.policy(auth),
      logger,
      storage,
      sink,
      observer: metrics.observer,
      verifyKey,
      version: VERSION,
      metrics: adapter.exposition?.(metrics, storage, { observer: metrics.observer }) ?? metrics.exposition,
      docs: await selectApiDocs(settings, VERSION, () => adapter.swaggerUi(settings)),
      ...adapter.compose,
    });
    // A sink that receives (MQTT_STATUS_TOPICS=true) records devices' reports in the same
    // fleet records as PUT /files/status. The broker has had its PUBACK already, so a report
    // goes into the view at once and is written in the background (fleet/report-backlog.ts).
    const records = composed.deps.fleet.records;
    attachStatusReports(sink, {
      recorder: { reported: async (mac, report) => records.accepted(mac, report) },
      observer: metrics.observer,
      logger,
    });
    return { ...composed, settings, logger, sink, metrics };
  } catch (error) {
    const bootError = asBootError(error);
    if (bootError) throw bootError;
    throw error;
  }
}
