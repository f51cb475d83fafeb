/**
 * Who may read what under /files, by DEVICE_AUTH:
 * - `open`: anyone (the original). Nothing is mounted.
 * - `fleet`: one of the fleet's tokens (DEVICE_TOKEN_HASHES) reads everything.
 * - `device`: a device's own token reads its own config and the assets; another device's
 *   config answers exactly as an absent one (the route checks `deviceMac`), so a token
 *   cannot learn which MACs exist. The fleet's tokens, if still set, read everything, for
 *   the move from `fleet`. An admin token is no device token: it is not in either list.
 * No or an unknown token is 401, counted by bounded reason like every refusal.
 */
import type { MiddlewareHandler } from "hono";
import { bearerOf, tokenInUrl } from "../../core/auth/bearer.js";
import type { Authenticator, AuthOutcome, DeviceAuthMode } from "../../core/auth/contract.js";
import { refusal } from "../../core/auth/gate.js";
import type { AppEnv } from "../../core/deps.js";
import type { OperationObserver } from "../../core/observer.js";
import type { DeviceTokens } from "./token-registry.js";

export interface DeviceAccess {
  mode: DeviceAuthMode;
  /** The /files/* middleware; absent in `open` mode. */
  gate?: MiddlewareHandler<AppEnv>;
  /**
   * For the fast path: true when this Authorization may read `mac`'s config now, known with
   * no I/O; false means "let the app decide" (it answers the 401 or 404), never "refused".
   */
  mayReadNow(authorization: string | undefined, mac: string): boolean;
}

export function createDeviceAccess(options: {
  mode: DeviceAuthMode;
  fleet?: Authenticator;
  tokens: DeviceTokens;
  observer: OperationObserver;
}): DeviceAccess {
  const { mode, fleet, tokens, observer } = options;
  if (mode === "open") return { mode, mayReadNow: () => true };

  const refuse = (outcome: Exclude<AuthOutcome, { ok: true }>) => {
    observer.authFailure(outcome.reason);
    return refusal(outcome);
  };

  const gate: MiddlewareHandler<AppEnv> = async function requireDeviceToken(c, next) {
    if (c.req.method === "OPTIONS") return next();
    const authorization = c.req.header("authorization");
    const presented = { authorization, url: c.req.url };
    if (mode === "fleet") {
      const outcome = await (fleet as Authenticator).authenticate(presented);
      if (!outcome.ok) throw refuse(outcome);
      return next();
    }
    if (tokenInUrl(c.req.url)) throw refuse({ ok: false, reason: "token_in_url", status: 401 });
    const bearer = bearerOf(authorization);
    if (bearer.kind !== "token") throw refuse({ ok: false, reason: bearer.kind, status: 401 });
    // At most once a second: a revocation made elsewhere holds here within that bound.
    await tokens.freshness();
    const mac = tokens.macOf(bearer.token);
    if (mac !== undefined) {
      c.set("deviceMac", mac);
      return next();
    }
    if (fleet && (await fleet.authenticate(presented)).ok) return next();
    throw refuse({ ok: false, reason: "unknown_token", status: 401 });
  };

  return {
    mode,
    gate,
    mayReadNow(authorization, mac) {
      if (mode === "fleet") return fleet?.knownGood?.(authorization) === true;
      if (tokens.freshness() !== undefined) return false;
      const bearer = bearerOf(authorization);
      if (bearer.kind !== "token") return false;
      return tokens.macOf(bearer.token) === mac || fleet?.knownGood?.(authorization) === true;
    },
  };
}
