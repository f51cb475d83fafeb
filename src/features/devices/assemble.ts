/**
 * Device identity as compose wires it: the token registry over the storage's state, who may
 * read what under /files (DEVICE_AUTH), the open mode's miss limiter, and the boot warning
 * when anyone may read configs off loopback.
 */
import type { AuthPolicy } from "../../core/auth/contract.js";
import type { AppDeps } from "../../core/deps.js";
import type { Logger } from "../../core/logger.js";
import type { OperationObserver } from "../../core/observer.js";
import { isLoopbackHost, type Settings } from "../../core/settings.js";
import type { StorageDriver } from "../../core/storage.js";
import { createMissLimiter } from "../request-limits/miss-limiter.js";
import { createDeviceAccess } from "./device-access.js";
import { createDeviceTokens } from "./token-registry.js";

export function createDevices(options: {
  settings: Settings;
  auth: AuthPolicy;
  storage: StorageDriver;
  logger: Logger;
  observer: OperationObserver;
  /** False where HOST means nothing (Workers). */
  publicHost?: boolean;
}): AppDeps["devices"] {
  const { settings, auth, storage, logger, observer } = options;
  const mode = auth.deviceMode ?? (auth.devices ? "fleet" : "open");
  const tokens = createDeviceTokens({ state: storage.state, logger });
  if (mode === "open" && !isLoopbackHost(settings.host) && options.publicHost !== false) {
    // Device reads that anyone may make are said once at boot, where anyone may reach them.
    logger.warn(
      `DEVICE_AUTH=open and the server listens on ${settings.host}: device configs are readable by anyone who can ` +
        "guess a MAC (misses are limited per address by DEVICE_READ_MISS_LIMIT); give each device its own token " +
        "and set DEVICE_AUTH=device (see README, Securing the server)",
    );
  }
  return {
    tokens,
    access: createDeviceAccess({ mode, fleet: auth.devices, tokens, observer }),
    misses:
      mode === "open" && settings.deviceReadMissLimit > 0 ? createMissLimiter(settings.deviceReadMissLimit) : undefined,
  };
}
