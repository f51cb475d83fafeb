/**
 * The Hono middleware in front of a protected scope: lets the request through, or
 * answers the contract's 401 UNAUTHORIZED (with WWW-Authenticate: Bearer), 403 FORBIDDEN, or 503
 * when the OIDC issuer cannot be reached. Failures are counted by bounded reason; the
 * token itself is never logged, counted or repeated.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../deps.js";
import { AppError } from "../errors.js";
import type { OperationObserver } from "../observer.js";
import type { Authenticator, AuthOutcome } from "./contract.js";

const REALM = "iot-support";
const RETRY_AFTER_SECONDS = 5;

const MESSAGES: Partial<Record<string, string>> = {
  missing: "Authentication required: send Authorization: Bearer <token>",
  malformed: "The Authorization header is not a bearer token this server accepts",
  token_in_url: "Tokens in the URL are not accepted (they end up in logs): send Authorization: Bearer <token>",
  expired: "The bearer token has expired",
  not_yet_valid: "The bearer token is not valid yet",
};

export function refusal(outcome: Exclude<AuthOutcome, { ok: true }>): AppError {
  const details = { reason: outcome.reason };
  if (outcome.status === 403) {
    return new AppError("FORBIDDEN", "The bearer token is valid but lacks the role this server requires", {
      details,
      headers: { "WWW-Authenticate": `Bearer realm="${REALM}", error="insufficient_scope"` },
    });
  }
  if (outcome.status === 503) {
    return new AppError("AUTH_UNAVAILABLE", "The token issuer cannot be reached to verify the token; retry shortly", {
      details,
      headers: { "Retry-After": String(RETRY_AFTER_SECONDS) },
    });
  }
  const challenge =
    outcome.reason === "missing" ? `Bearer realm="${REALM}"` : `Bearer realm="${REALM}", error="invalid_token"`;
  return new AppError("UNAUTHORIZED", MESSAGES[outcome.reason] ?? `Invalid bearer token (${outcome.reason})`, {
    details,
    headers: { "WWW-Authenticate": challenge },
  });
}

/** Guards requests for which `applies` is true; CORS preflights (which carry no credentials) pass. */
export function authGate(
  authenticator: Authenticator,
  observer: OperationObserver,
  applies: (method: string, path: string) => boolean,
): MiddlewareHandler<AppEnv> {
  return async function requireBearer(c, next) {
    if (c.req.method === "OPTIONS" || !applies(c.req.method, c.req.path)) return next();
    const outcome = await authenticator.authenticate({
      authorization: c.req.header("authorization"),
      accessAssertion: c.req.header("cf-access-jwt-assertion"),
      url: c.req.url,
    });
    if (outcome.ok) return next();
    observer.authFailure(outcome.reason);
    throw refusal(outcome);
  };
}

/** Admin scope per the contract: all of /api except health, the docs, and uploads (which carry their own signature). */
export const isAdminRoute = (method: string, path: string): boolean =>
  !(
    path === "/api/health" ||
    path === "/api/docs" ||
    path.startsWith("/api/docs/") ||
    (method === "POST" && path === "/api/assets")
  );
