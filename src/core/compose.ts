/**
 * Wires the runtime-neutral pieces into a running app: stores over a driver, the
 * notifier over a sink, and the app over both. Runtimes call this after building
 * the parts only they can build (storage driver, metrics registry, key, sink).
 */
import type { Context } from "hono";
import { createAssetStore } from "../features/assets/store.js";
import { createConfigStore } from "../features/configs/store.js";
import { createFastReads, type FastReads } from "../features/device-reads/fast-reads.js";
import { createDevices } from "../features/devices/assemble.js";
import { createFleet } from "../features/fleet/assemble.js";
import { clientAddress } from "../features/request-limits/client-address.js";
import { createRolloutsFor, withFleetCounts } from "../features/rollouts/assemble.js";
import { createApp } from "./app.js";
import type { AuthPolicy } from "./auth/contract.js";
import type { AppDeps } from "./deps.js";
import type { Logger } from "./logger.js";
import { createNotifier, type Notifier } from "./notifier.js";
import type { OperationObserver } from "./observer.js";
import { orderWrites } from "./ordered-writes.js";
import { adminAuthConfigured, isLoopbackHost, type Settings } from "./settings.js";
import type { NotificationSink } from "./sinks/contract.js";
import type { StorageDriver } from "./storage.js";

export interface ComposeOptions {
  settings: Settings;
  /** Who may call what, from the auth plugin (src/plugins/auth); none: the original's anonymous API. */
  auth?: AuthPolicy;
  logger: Logger;
  storage: StorageDriver;
  sink: NotificationSink;
  observer: OperationObserver;
  verifyKey: CryptoKey;
  metrics?: AppDeps["metrics"];
  /** The API docs plugin, chosen by API_DOCS (plugins/docs, selectApiDocs); none: no /api/docs. */
  docs?: AppDeps["docs"];
  version?: string;
  track?: (settled: Promise<void>) => void;
  /** False where HOST means nothing (Workers, which say their own word about anonymous admin). */
  publicHost?: boolean;
  /** See AppDeps.refusedBodies; "background" unless a runtime says otherwise. */
  refusedBodies?: AppDeps["refusedBodies"];
  /** See AppDeps.sendNative. */
  sendNative?: AppDeps["sendNative"];
  /** The runtime's own way to the connection's peer address (default: core/client-address.ts, peerAddress). */
  peerAddress?: (c: Context) => string | undefined;
  /** The header the runtime's platform sets to the client's address, when CLIENT_IP_HEADER is unset (Workers: CF-Connecting-IP). */
  clientIpHeader?: string;
  /** Who releases rollout waves; this process unless a runtime says otherwise (Workers: a Durable Object). */
  rolloutDriver?: Parameters<typeof createRolloutsFor>[0]["rolloutDriver"];
}

export interface Composed {
  app: ReturnType<typeof createApp>;
  /** Cached config reads answered before the app, where the storage allows it (see fast-reads.ts). */
  fastReads: FastReads | undefined;
  deps: AppDeps;
  notifier: Notifier;
}

export function compose(options: ComposeOptions): Composed {
  const { settings, logger, sink } = options;
  const storage = orderWrites(options.storage);
  warnAboutPolicies(settings, logger, options);
  const notifier = createNotifier({ sink, logger, track: options.track });
  const auth = options.auth ?? {};
  const devices = createDevices({
    settings,
    auth,
    storage,
    logger,
    observer: options.observer,
    publicHost: options.publicHost,
  });
  const fleet = createFleet({ storage, logger, observer: options.observer, track: options.track });
  const configs = createConfigStore(storage, logger, settings.maxConfigBytes);
  const rollouts = createRolloutsFor({ ...options, storage, configs, notifier, fleet });
  const deps: AppDeps = {
    storage,
    configs,
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
      maxConcurrentUploads: settings.maxConcurrentUploads,
      maxUploadsPerClient: settings.maxUploadsPerClient,
      idleTimeoutMs: settings.uploadIdleTimeoutMs,
      minBytesPerSecond: settings.uploadMinBytesPerSecond,
    },
    signatures: {
      minVersion: settings.uploadSignatureMinVersion,
      allowReuse: settings.uploadSignatureReuse === "allow",
    },
    corsOrigins: settings.corsOrigins,
    auth,
    devices,
    fleet,
    rollouts,
    refusedBodies: options.refusedBodies ?? "background",
    sendNative: options.sendNative,
    clientAddress: (c) => clientAddress(c, settings.clientIpHeader ?? options.clientIpHeader, options.peerAddress),
    metrics: options.metrics && withFleetCounts(options.metrics, { ...options, fleet, rollouts }),
    docs: options.docs,
    version: options.version,
  };
  const clientIpHeader = settings.clientIpHeader ?? options.clientIpHeader;
  return { app: createApp(deps), fastReads: createFastReads({ ...deps, clientIpHeader }), deps, notifier };
}

/** Settings that weaken a protection on purpose are said once, loudly, at boot, on every runtime. */
function warnAboutPolicies(settings: Settings, logger: Logger, options: ComposeOptions): void {
  if (!adminAuthConfigured(settings) && !isLoopbackHost(settings.host) && options.publicHost !== false) {
    logger.warn(
      `the admin API needs no credentials and the server listens on ${settings.host}: anyone who can reach it can ` +
        "rewrite or delete every device's configuration; set API_TOKEN_HASHES or OIDC_ISSUER (see README, Securing the server)",
    );
  }
  if (!adminAuthConfigured(settings) && settings.allowAnonymousAdmin) {
    logger.warn("ALLOW_ANONYMOUS_ADMIN=true: the admin API needs no credentials (local development only)");
  }
  if (settings.uploadSignatureReuse === "allow") {
    logger.warn(
      "UPLOAD_SIGNATURE_REUSE=allow: an upload signature can be replayed while its timestamp is valid " +
        "(with version 1, for any file under any name); use it only for legacy scripts that upload several files with one signature",
      { tolerance_seconds: settings.timestampToleranceSeconds },
    );
  }
}
