/**
 * One authenticator per protected scope (admin API, /metrics, device reads): bearer
 * tokens checked against SHA-256 hashes and, for the admin API, OIDC tokens. It never
 * throws on what a client sends; every refusal is a bounded reason.
 */

import { bearerOf, tokenInUrl } from "../../core/auth/bearer.js";
import type { Authenticator } from "../../core/auth/contract.js";
import type { OidcVerifier } from "./oidc.js";
import type { TokenHashes } from "./token-hashes.js";

const ACCEPTED = { ok: true } as const;

export function createAuthenticator(options: {
  hashes?: TokenHashes;
  oidc?: OidcVerifier;
  now?: () => number;
}): Authenticator {
  const { hashes, oidc } = options;
  const now = options.now ?? Date.now;
  /**
   * The last Authorization header accepted, and until when it is taken on trust (an API token:
   * for the process's life, as TokenHashes remembers it; an OIDC token: as its verifier does).
   * An admin UI or a pipeline sends the same header on every request, and comparing it costs
   * less than parsing it again and hashing a kilobyte of JWT for a map lookup.
   */
  let last: { header: string; until: number } | undefined;
  const accepted = (header: string, until: number) => {
    last = { header, until };
    return ACCEPTED;
  };
  return {
    async authenticate({ authorization, accessAssertion, url }) {
      // Refused even with a valid header: the URL has already been logged by whatever proxies it.
      if (tokenInUrl(url)) return { ok: false, reason: "token_in_url", status: 401 };
      if (authorization !== undefined && authorization === last?.header && now() < last.until) return ACCEPTED;
      // Behind Cloudflare Access the token arrives in its own header; it is verified like any OIDC token.
      if (oidc && authorization === undefined && accessAssertion) {
        return oidc.verify(accessAssertion.trim());
      }
      const bearer = bearerOf(authorization);
      if (bearer.kind !== "token") return { ok: false, reason: bearer.kind, status: 401 };
      if (hashes && (await hashes.accepts(bearer.token)))
        return accepted(authorization as string, Number.POSITIVE_INFINITY);
      const looksLikeJwt = bearer.token.split(".").length === 3;
      if (oidc && looksLikeJwt) {
        const outcome = await oidc.verify(bearer.token);
        return outcome.ok ? accepted(authorization as string, outcome.until) : outcome;
      }
      return { ok: false, reason: hashes ? "unknown_token" : "malformed", status: 401 };
    },
    knownGood(authorization) {
      if (!hashes) return false;
      const bearer = bearerOf(authorization);
      return bearer.kind === "token" && hashes.acceptedBefore(bearer.token);
    },
  };
}
