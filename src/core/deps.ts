/** Everything the HTTP app needs, passed in by a runtime entry point (or a test). */
import type { Logger } from "./logger.js";
import type { NotificationSink, Notifier } from "./notify.js";
import type { OperationObserver } from "./observer.js";
import type { AssetStore, ConfigStore, StorageDriver } from "./storage.js";

export interface AppDeps {
  storage: StorageDriver;
  configs: ConfigStore;
  assets: AssetStore;
  notifier: Notifier;
  /** For health only: name and readiness, never connection details. */
  sink: Pick<NotificationSink, "name" | "status">;
  observer: OperationObserver;
  logger: Logger;
  /** Public key that upload signatures are verified with. */
  verifyKey: CryptoKey;
  limits: {
    timestampToleranceSeconds: number;
    maxUploadBytes: number;
    maxConfigBytes: number;
    maxConcurrentUploads: number;
    /** An upload (or config body) that sends nothing for this long is cut. */
    idleTimeoutMs: number;
  };
  signatures: {
    /** Oldest accepted version: 1 (timestamp only) or 2 (timestamp, filename and content). */
    minVersion: 1 | 2;
    /** Whether an accepted signature may be used again (the original's behaviour). */
    allowReuse: boolean;
  };
  corsOrigins: string[];
  /**
   * Read the rest of a refused upload's body in the background, so a keep-alive client can
   * read the answer and reuse its connection. Server runtimes (Node, Deno, Bun) want it; on
   * Workers the edge owns the client's connection, and reading a request's body after its
   * response restarts the isolate.
   */
  drainRefusedBodies?: boolean;
  /** Renders the Prometheus exposition; absent when the runtime has no metrics. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  version?: string;
  /** Clock in milliseconds since the epoch; tests pin it. */
  now?: () => number;
}

export type AppEnv = { Variables: { requestId: string } };
