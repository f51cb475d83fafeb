/**
 * Wires the runtime-neutral pieces into a running app: stores over a driver, the
 * notifier over a sink, and the app over both. Runtimes call this after building
 * the parts only they can build (storage driver, metrics registry, key, sink).
 */
import { createApp } from "./app.js";
import type { AppDeps } from "./deps.js";
import type { Logger } from "./logger.js";
import { createNotifier, type NotificationSink, type Notifier } from "./notify.js";
import type { OperationObserver } from "./observer.js";
import type { Settings } from "./settings.js";
import { createAssetStore, createConfigStore, type StorageDriver } from "./storage.js";

export interface ComposeOptions {
  settings: Settings;
  logger: Logger;
  storage: StorageDriver;
  sink: NotificationSink;
  observer: OperationObserver;
  verifyKey: CryptoKey;
  metrics?: AppDeps["metrics"];
  version?: string;
  track?: (settled: Promise<void>) => void;
}

export interface Composed {
  app: ReturnType<typeof createApp>;
  deps: AppDeps;
  notifier: Notifier;
}

export function compose(options: ComposeOptions): Composed {
  const { settings, logger, storage, sink } = options;
  const notifier = createNotifier({ sink, logger, track: options.track });
  const deps: AppDeps = {
    storage,
    configs: createConfigStore(storage, logger),
    assets: createAssetStore(storage),
    notifier,
    sink,
    observer: options.observer,
    logger,
    verifyKey: options.verifyKey,
    limits: {
      timestampToleranceSeconds: settings.timestampToleranceSeconds,
      maxUploadBytes: settings.maxUploadBytes,
      maxConfigBytes: settings.maxConfigBytes,
    },
    corsOrigins: settings.corsOrigins,
    metrics: options.metrics,
    version: options.version,
  };
  return { app: createApp(deps), deps, notifier };
}
