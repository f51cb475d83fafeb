/**
 * Admin authentication's own settings: declared here as data (the README's table is
 * generated from this list), validated and cross-checked here, redacted here. The core
 * knows none of them; it learns only AdminAccess (core/auth/plugin.ts).
 */
import { z } from "zod";
import type { DeviceAuthMode } from "../../core/auth/contract.js";
import { type Env, parseSetting, type SettingSpecs, SettingsError } from "../../core/setting-spec.js";
import { bool, hashList, hostList, int, optionalText } from "../../core/setting-types.js";
import { issuerUrl, tokenTypeList } from "./setting-types.js";

export const AUTH_SETTINGS = {
  API_TOKEN_HASHES: {
    schema: hashList.optional(),
    description:
      "comma list of SHA-256 hex digests of accepted admin bearer tokens (`npx iot-token`); with it, the admin API needs a token",
    fillIn:
      "the sha256 that `npx iot-token` prints (or use OIDC_ISSUER; only on a server nobody else can reach, delete the line)",
  },
  OIDC_ISSUER: {
    schema: issuerUrl.optional(),
    description:
      "accept OIDC bearer tokens from this issuer (https://, or http:// on loopback) issued for `OIDC_AUDIENCE`",
  },
  OIDC_AUDIENCE: {
    schema: optionalText,
    description: "the audience the issuer's tokens must be issued for; required with `OIDC_ISSUER`",
  },
  OIDC_REQUIRED_ROLE: {
    schema: optionalText,
    description: "a role the token must carry in `roles` or `realm_access.roles` (else 403)",
  },
  OIDC_JWKS_URL: {
    schema: issuerUrl.optional(),
    description: "the issuer's key set, for issuers without a discovery document (Cloudflare Access)",
    defaultText: "from discovery",
  },
  OIDC_JWKS_COOLDOWN_SECONDS: {
    schema: int(0, 86_400).default(30),
    description: "least time between two key-set fetches caused by unknown `kid`s",
    defaultText: "`30`",
  },
  // RFC 9068 access tokens only, so an ID token for the same audience is not taken for one.
  OIDC_TOKEN_TYPES: {
    schema: tokenTypeList.default(["at+jwt"]),
    description:
      'accepted values of the token header\'s `typ` (comma list, case-insensitive, `application/` optional); a token without `typ` counts as `JWT`. The default takes RFC 9068 access tokens only, so an ID token is never taken for one; `at+jwt,JWT` for issuers whose access tokens say `JWT` (see "Securing the server")',
    defaultText: "`at+jwt`",
  },
  METRICS_TOKEN_HASHES: {
    schema: hashList.optional(),
    description: "with it, `/metrics` needs one of these tokens",
    defaultText: "— (open)",
  },
  DEVICE_AUTH: {
    schema: z.enum(["open", "fleet", "device"], { message: "must be open, fleet or device" }).optional(),
    description:
      "what a device read needs: `open` nothing (the original's behaviour); `fleet` one of `DEVICE_TOKEN_HASHES`; `device` the device's own token (`POST /api/devices/{mac}/token`), which reads only its own config and the assets. In `device` mode `DEVICE_TOKEN_HASHES`, if set, still reads everything, for the move from `fleet` (see \"Securing the server\")",
    defaultText: "`fleet` when `DEVICE_TOKEN_HASHES` is set, else `open`",
  },
  DEVICE_TOKEN_HASHES: {
    schema: hashList.optional(),
    description:
      "one token for the whole fleet: with it (and `DEVICE_AUTH` unset or `fleet`), `/files/…` device reads need one of these tokens",
    defaultText: "— (open)",
  },
  ALLOWED_HOSTS: {
    schema: hostList.optional(),
    description: "comma list of host names this server answers for; any other `Host` is 421",
    defaultText: "— (any)",
  },
  ALLOW_ANONYMOUS_ADMIN: {
    schema: bool.default(false),
    description: "`true` lets a Worker start with an anonymous admin API (local development)",
    defaultText: "`false`",
  },
} satisfies SettingSpecs;

export interface AuthSettings {
  /** SHA-256 hex digests of accepted admin bearer tokens. */
  apiTokenHashes?: string[];
  metricsTokenHashes?: string[];
  deviceTokenHashes?: string[];
  /** What a device read needs (DEVICE_AUTH, or its default from DEVICE_TOKEN_HASHES). */
  deviceAuth: DeviceAuthMode;
  oidcIssuer?: string;
  oidcAudience?: string;
  oidcRequiredRole?: string;
  oidcJwksCooldownSeconds: number;
  /** Skips discovery: for issuers that publish only a key set (Cloudflare Access). */
  oidcJwksUrl?: string;
  /** Accepted JWT `typ` header values; a token without `typ` counts as `JWT`. */
  oidcTokenTypes: string[];
  allowedHosts?: string[];
  allowAnonymousAdmin: boolean;
}

const parseOne = <K extends keyof typeof AUTH_SETTINGS>(name: K, env: Env) => parseSetting(AUTH_SETTINGS, name, env);

/** Reads and cross-checks the variables; the first invalid one is a SettingsError naming it. */
export function loadAuthSettings(env: Env): AuthSettings {
  const oidcIssuer = parseOne("OIDC_ISSUER", env);
  const oidcAudience = parseOne("OIDC_AUDIENCE", env);
  const oidcRequiredRole = parseOne("OIDC_REQUIRED_ROLE", env);
  if (oidcIssuer && !oidcAudience) {
    throw new SettingsError("OIDC_AUDIENCE", "missing: with OIDC_ISSUER, set the audience your tokens are issued for");
  }
  const oidcTokenTypes = parseOne("OIDC_TOKEN_TYPES", env);
  const typesSet = env.OIDC_TOKEN_TYPES !== undefined && env.OIDC_TOKEN_TYPES !== "";
  if (!oidcIssuer && (oidcAudience || oidcRequiredRole || typesSet)) {
    const variable = oidcAudience ? "OIDC_AUDIENCE" : oidcRequiredRole ? "OIDC_REQUIRED_ROLE" : "OIDC_TOKEN_TYPES";
    throw new SettingsError(variable, "needs OIDC_ISSUER");
  }
  const deviceTokenHashes = parseOne("DEVICE_TOKEN_HASHES", env);
  const deviceAuth = parseOne("DEVICE_AUTH", env) ?? (deviceTokenHashes ? "fleet" : "open");
  if (deviceAuth === "fleet" && !deviceTokenHashes) {
    throw new SettingsError("DEVICE_AUTH", "fleet needs DEVICE_TOKEN_HASHES (the fleet's token hashes, npx iot-token)");
  }
  if (deviceAuth === "open" && deviceTokenHashes) {
    throw new SettingsError(
      "DEVICE_AUTH",
      "open leaves device reads open, but DEVICE_TOKEN_HASHES is set: choose fleet, or unset it",
    );
  }
  return {
    apiTokenHashes: parseOne("API_TOKEN_HASHES", env),
    metricsTokenHashes: parseOne("METRICS_TOKEN_HASHES", env),
    deviceTokenHashes,
    deviceAuth,
    oidcIssuer,
    oidcAudience,
    oidcRequiredRole,
    oidcJwksCooldownSeconds: parseOne("OIDC_JWKS_COOLDOWN_SECONDS", env),
    oidcJwksUrl: parseOne("OIDC_JWKS_URL", env),
    oidcTokenTypes,
    allowedHosts: parseOne("ALLOWED_HOSTS", env),
    allowAnonymousAdmin: parseOne("ALLOW_ANONYMOUS_ADMIN", env),
  };
}

/** True when any admin authentication is configured. */
export const adminAuthConfigured = (settings: AuthSettings) => !!settings.apiTokenHashes || !!settings.oidcIssuer;

/** The settings as they may be logged. */
export function redactAuthSettings(settings: AuthSettings): Record<string, unknown> {
  const count = (hashes: string[] | undefined) => (hashes ? `[${hashes.length} hashes]` : undefined);
  return {
    ...settings,
    // Token hashes are not tokens, but the contract keeps them out of logs too: only how many.
    apiTokenHashes: count(settings.apiTokenHashes),
    metricsTokenHashes: count(settings.metricsTokenHashes),
    deviceTokenHashes: count(settings.deviceTokenHashes),
  };
}
