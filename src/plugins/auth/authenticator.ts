/**
 * One authenticator per protected scope (admin API, /metrics, device reads): bearer
 * tokens checked against SHA-256 hashes and, for the admin API, OIDC tokens. It never
 * throws on what a client sends; every refusal is a bounded reason.
 */

import { bearerOf, tokenInUrl } from "../../core/auth/bearer.js";
import type { Authenticator } from "../../core/auth/contract.js";
import type { OidcVerifier } from "./oidc.js";
import type { TokenHashes } from "./token-hashes.js";

export function createAuthenticator(options: { hashes?: TokenHashes; oidc?: OidcVerifier }): Authenticator {
  const { hashes, oidc } = options;
  return {
    async authenticate({ authorization, accessAssertion, url }) {
      // Refused even with a valid header: the URL has already been logged by whatever proxies it.
      if (tokenInUrl(url)) return { ok: false, reason: "token_in_url", status: 401 };
      // Behind Cloudflare Access the token arrives in its own header; it is verified like any OIDC token.
      if (oidc && authorization === undefined && accessAssertion) {
        return oidc.verify(accessAssertion.trim());
      }
      const bearer = bearerOf(authorization);
      if (bearer.kind !== "token") return { ok: false, reason: bearer.kind, status: 401 };
      if (hashes && (await hashes.accepts(bearer.token))) return { ok: true };
      const looksLikeJwt = bearer.token.split(".").length === 3;
      if (oidc && looksLikeJwt) return oidc.verify(bearer.token);
      return { ok: false, reason: hashes ? "unknown_token" : "malformed", status: 401 };
    },
    knownGood(authorization) {
      if (!hashes) return false;
      const bearer = bearerOf(authorization);
      return bearer.kind === "token" && hashes.acceptedBefore(bearer.token);
    },
  };
}
