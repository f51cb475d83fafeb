/**
 * Settings → who may do what. With neither API_TOKEN_HASHES nor OIDC_ISSUER the admin
 * API is anonymous, as in the original (a boot warning says so off loopback, and a
 * Worker refuses unless ALLOW_ANONYMOUS_ADMIN=true). /metrics and the device reads are
 * open unless their own token lists are set.
 */

import type { AuthPolicy } from "../../core/auth/contract.js";
import { createAuthenticator } from "./authenticator.js";
import { createOidcVerifier } from "./oidc.js";
import type { AuthSettings } from "./settings.js";
import { createTokenHashes } from "./token-hashes.js";

export function createAuthPolicy(settings: AuthSettings, options: { fetch?: typeof fetch } = {}): AuthPolicy {
  const oidc =
    settings.oidcIssuer && settings.oidcAudience
      ? createOidcVerifier({
          issuer: settings.oidcIssuer,
          audience: settings.oidcAudience,
          requiredRole: settings.oidcRequiredRole,
          cooldownSeconds: settings.oidcJwksCooldownSeconds,
          jwksUrl: settings.oidcJwksUrl,
          tokenTypes: settings.oidcTokenTypes,
          fetch: options.fetch,
        })
      : undefined;
  const hashes = (list: string[] | undefined) => (list ? createTokenHashes(list) : undefined);
  const admin = settings.apiTokenHashes || oidc ? { hashes: hashes(settings.apiTokenHashes), oidc } : undefined;
  return {
    admin: admin && createAuthenticator(admin),
    metrics: settings.metricsTokenHashes && createAuthenticator({ hashes: hashes(settings.metricsTokenHashes) }),
    devices: settings.deviceTokenHashes && createAuthenticator({ hashes: hashes(settings.deviceTokenHashes) }),
    deviceMode: settings.deviceAuth,
    allowedHosts: settings.allowedHosts,
  };
}
