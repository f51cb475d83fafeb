/** Everything the HTTP app needs, passed in by a runtime entry point (or a test). */
import type { Context } from "hono";
import type { AssetStore } from "../features/assets/store.js";
import type { ConfigStore } from "../features/configs/store.js";
import type { DeviceAccess } from "../features/devices/device-access.js";
import type { DeviceTokens } from "../features/devices/token-registry.js";
import type { Fleet } from "../features/fleet/assemble.js";
import type { MissLimiter } from "../features/request-limits/miss-limiter.js";
import type { Rollouts } from "../features/rollouts/contract.js";
import type { RoutePlugin } from "./api-routes.js";
import type { AuthPolicy } from "./auth/contract.js";
import type { Logger } from "./logger.js";
import type { Notifier } from "./notifier.js";
import type { OperationObserver } from "./observer.js";
import type { NotificationSink } from "./sinks/contract.js";
import type { StorageDriver } from "./storage.js";

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
    /** Uploads (or slow config bodies) one client may have in progress before they are authenticated. */
    maxUploadsPerClient: number;
    /** An upload (or config body) that sends nothing for this long is cut. */
    idleTimeoutMs: number;
    /** The least rate of a body not yet authenticated (0: none). */
    minBytesPerSecond: number;
  };
  signatures: {
    /** Oldest accepted version: 1 (timestamp only) or 2 (timestamp, filename and content). */
    minVersion: 1 | 2;
    /** Whether an accepted signature may be used again (the original's behaviour). */
    allowReuse: boolean;
  };
  corsOrigins: string[];
  /**
   * What happens to the unread rest of a refused upload's body (up to 64 MiB is read and
   * thrown away, so the connection it came on stays usable). "background" (Node, Deno,
   * Bun): the answer goes out at once and the rest is read after it. "before-answer"
   * (Workers): read first, then answer — a Worker cannot read a request's body after its
   * response, and a body left unread broke the runtime's next request on that connection.
   */
  refusedBodies?: "background" | "before-answer";
  /**
   * Sends a stored object's `native` handle itself, faster than a Web stream (Node: an fs
   * stream into the socket); answers undefined when it cannot, and the route sends `body`.
   */
  sendNative?: (c: Context, native: unknown, status: number, headers: Record<string, string>) => Response | undefined;
  /**
   * The address a request came from, for per-client limits (core/client-address.ts); by
   * default the header named by CLIENT_IP_HEADER, else the connection's peer.
   */
  clientAddress?: (c: Context) => string | undefined;
  /** Device identity: tokens, and who may read what under /files (features/devices). */
  devices: {
    tokens: DeviceTokens;
    access: DeviceAccess;
    /** Device-read misses per client address, in `open` mode (undefined: no limit). */
    misses?: MissLimiter;
  };
  /** What devices fetched and report (features/fleet): the records, the configs' ETags, the view over both. */
  fleet: Fleet;
  /** Configs released to the fleet in waves (features/rollouts). */
  rollouts: Rollouts;
  /** Who may call what; an empty policy is the original's anonymous behaviour. */
  auth: AuthPolicy;
  /** The API docs plugin (src/plugins/docs) when API_DOCS is on; absent: /api/docs* are 404. */
  docs?: RoutePlugin;
  /** Renders the Prometheus exposition; absent when the runtime has no metrics. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  version?: string;
  /** Clock in milliseconds since the epoch; tests pin it. */
  now?: () => number;
}

export type AppEnv = {
  Variables: {
    requestId: string;
    /** In DEVICE_AUTH=device, the MAC whose token the request carries (features/devices/device-access.ts). */
    deviceMac?: string;
  };
};
