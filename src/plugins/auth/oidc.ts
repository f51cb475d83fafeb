/**
 * OIDC bearer tokens, verified with `jose` (runtime-neutral: Web Crypto and fetch, so the
 * same code runs on Node, Deno, Bun and Workers). The issuer's discovery document names
 * its key set; keys are cached and fetched again when a token names an unknown `kid`, at
 * most once per cool-down (a flood of forged `kid`s cannot make us hammer the issuer).
 * Only RS256 and ES256 are accepted, so `alg: none` and HS256-with-the-public-key tokens
 * are refused before any key is looked at; `iss`, `aud`, `exp` and `nbf` are checked with
 * a small clock skew. The header's `typ` must be one of the accepted token types (RFC 9068's
 * `at+jwt` by default): an OIDC ID token is a JWT from the same issuer, signed by the same
 * keys, and its audience is the client it was issued to, which may be the very audience we
 * accept; only its type says it is not an access token. A verified token is remembered
 * (bounded, at most a minute and never past its `exp`) so that a fleet dashboard polling
 * with one token costs one verification.
 */
import { createRemoteJWKSet, type JWTHeaderParameters, type JWTPayload, jwtVerify } from "jose";
import type { AuthFailureReason } from "../../core/auth/contract.js";

export interface OidcOptions {
  issuer: string;
  audience: string;
  /** A role that must appear in `roles` or `realm_access.roles`. */
  requiredRole?: string;
  /** How soon an unknown `kid` may trigger another key-set fetch. */
  cooldownSeconds: number;
  /** The key set's URL, for issuers without a discovery document (Cloudflare Access). */
  jwksUrl?: string;
  /** Accepted `typ` header values (default `at+jwt`); a token without `typ` counts as `JWT`. */
  tokenTypes?: string[];
  fetch?: typeof fetch;
  now?: () => number;
}

/** `until`: when an accepted token stops being taken on trust (the earlier of a minute and its `exp`), ms since the epoch. */
export type OidcOutcome =
  | { ok: true; until: number }
  | { ok: false; reason: AuthFailureReason; status: 401 | 403 | 503 };

export interface OidcVerifier {
  verify(token: string): Promise<OidcOutcome>;
}

const ALGORITHMS = ["RS256", "ES256"];
const CLOCK_SKEW_SECONDS = 30;
const DISCOVERY_TIMEOUT_MS = 5000;
const VERIFIED_LIMIT = 10_000;
const VERIFIED_TTL_MS = 60_000;
/** After a failed discovery, wait this long before asking the issuer again. */
const DISCOVERY_RETRY_MS = 5000;

export class OidcUnavailable extends Error {
  readonly code = "AUTH_UNAVAILABLE";
}

/** The issuer's key-set URL from its discovery document, whose `issuer` must be exactly ours (mix-up defence). */
async function discoverJwksUri(issuer: string, fetchFn: typeof fetch): Promise<URL> {
  const url = new URL(".well-known/openid-configuration", issuer.endsWith("/") ? issuer : `${issuer}/`);
  let document: { issuer?: unknown; jwks_uri?: unknown };
  try {
    // "manual", not "error" (which Workers' fetch does not support): a redirect is then a non-200, refused below.
    const res = await fetchFn(url, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS), redirect: "manual" });
    if (res.status !== 200) throw new Error(`discovery answered ${res.status}`);
    document = (await res.json()) as typeof document;
  } catch (error) {
    throw new OidcUnavailable("the OIDC issuer's discovery document could not be read", { cause: error });
  }
  if (document.issuer !== issuer) {
    throw new OidcUnavailable("the OIDC discovery document names another issuer than OIDC_ISSUER");
  }
  if (typeof document.jwks_uri !== "string") throw new OidcUnavailable("the OIDC discovery document has no jwks_uri");
  return new URL(document.jwks_uri);
}

/**
 * A `typ` as RFC 7515 §4.1.9 compares it: case-insensitively, with "application/" left out
 * when the rest has no slash (so at+jwt and application/at+jwt are one type).
 */
function tokenType(typ: string): string {
  const lower = typ.trim().toLowerCase();
  const rest = lower.slice("application/".length);
  return lower.startsWith("application/") && !rest.includes("/") ? rest : lower;
}

/**
 * The type a token's header declares. Without `typ` a JWT declares nothing more than `typ: JWT`
 * does (RFC 7519 §5.1 makes both mean "some JWT"), so the two are one case; a `typ` that is
 * not a string declares no type at all and matches nothing.
 */
const declaredType = (typ: unknown): string | undefined =>
  typ === undefined ? "jwt" : typeof typ === "string" ? tokenType(typ) : undefined;

const rolesOf = (payload: JWTPayload): unknown[] => {
  const direct = Array.isArray(payload.roles) ? payload.roles : [];
  const realm = (payload.realm_access as { roles?: unknown } | undefined)?.roles;
  return [...direct, ...(Array.isArray(realm) ? realm : [])];
};

/** jose's error codes → our bounded reasons (never the message: it may quote the token's claims). */
function reasonOf(error: unknown): AuthFailureReason {
  const { code, claim } = error as { code?: string; claim?: string };
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      if (claim === "aud") return "wrong_audience";
      if (claim === "iss") return "wrong_issuer";
      if (claim === "nbf") return "not_yet_valid";
      return "malformed";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "bad_signature";
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return "unknown_key";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return "bad_signature";
    default:
      return "malformed";
  }
}

export function createOidcVerifier(options: OidcOptions): OidcVerifier {
  const fetchFn = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  let keys: ReturnType<typeof createRemoteJWKSet> | undefined;
  let discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  let lastFailure = 0;
  const verified = new Map<string, number>();
  const acceptedTypes = new Set((options.tokenTypes ?? ["at+jwt"]).map(tokenType));

  const keySet = async () => {
    if (keys) return keys;
    if (now() - lastFailure < DISCOVERY_RETRY_MS)
      throw new OidcUnavailable("the OIDC issuer was unreachable moments ago");
    const locate = async () => (options.jwksUrl ? new URL(options.jwksUrl) : discoverJwksUri(options.issuer, fetchFn));
    discovering ??= locate().then(
      (uri) => {
        keys = createRemoteJWKSet(uri, { cooldownDuration: options.cooldownSeconds * 1000 });
        return keys;
      },
      (error: unknown) => {
        lastFailure = now();
        discovering = undefined;
        throw error;
      },
    );
    return discovering;
  };

  /** The key for a token's header; a key set that cannot be fetched is an outage (503), not a bad token. */
  const keyFor: Parameters<typeof jwtVerify>[1] = async (header, token) => {
    const set = await keySet();
    try {
      return await set(header, token);
    } catch (error) {
      const code = (error as { code?: string }).code ?? "";
      if (["ERR_JWKS_NO_MATCHING_KEY", "ERR_JWKS_MULTIPLE_MATCHING_KEYS", "ERR_JOSE_NOT_SUPPORTED"].includes(code)) {
        throw error;
      }
      throw new OidcUnavailable("the OIDC issuer's key set could not be fetched", { cause: error });
    }
  };

  const remember = (token: string, exp: number | undefined) => {
    const until = Math.min(now() + VERIFIED_TTL_MS, exp === undefined ? Number.POSITIVE_INFINITY : exp * 1000);
    verified.set(token, until);
    if (verified.size > VERIFIED_LIMIT) verified.delete(verified.keys().next().value as string);
    return until;
  };

  return {
    async verify(token) {
      const until = verified.get(token);
      if (until !== undefined) {
        if (now() < until) return { ok: true, until };
        verified.delete(token);
      }
      // Only a JWS compact serialisation can be an OIDC token: three base64url parts.
      if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) return { ok: false, reason: "malformed", status: 401 };
      let payload: JWTPayload;
      let header: JWTHeaderParameters;
      try {
        ({ payload, protectedHeader: header } = await jwtVerify(token, keyFor, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: ALGORITHMS,
          clockTolerance: CLOCK_SKEW_SECONDS,
          requiredClaims: ["exp"],
          currentDate: new Date(now()),
        }));
      } catch (error) {
        if (error instanceof OidcUnavailable) {
          return { ok: false, reason: "unavailable", status: 503 };
        }
        return { ok: false, reason: reasonOf(error), status: 401 };
      }
      // After the signature, so that the reason counted is about a token the issuer really made.
      const type = declaredType(header.typ);
      if (type === undefined || !acceptedTypes.has(type)) return { ok: false, reason: "wrong_type", status: 401 };
      if (options.requiredRole && !rolesOf(payload).includes(options.requiredRole)) {
        return { ok: false, reason: "forbidden", status: 403 };
      }
      return { ok: true, until: remember(token, payload.exp) };
    },
  };
}
