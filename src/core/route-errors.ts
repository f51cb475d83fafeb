/**
 * The error responses of every route, in the API's error shape, for the document: those the
 * route declares itself (ApiRoute.errors) and those it shares with every route of its scope,
 * because the middleware in front of it (app.ts) answers them: the auth gates, ALLOWED_HOSTS,
 * and the error handler's 500. Run on the assembled app when the document is first made
 * (not at boot: building these schemas costs a few milliseconds a server without docs
 * need not pay).
 */
import type { RouteConfig } from "@hono/zod-openapi";
import { z } from "zod";
import type { Api, ApiRoute, RouteError, RouteErrors } from "./api-routes.js";
import { isAdminRoute } from "./auth/gate.js";
import { type ErrorCode, statusesOf, statusOf } from "./errors.js";
import { ErrorBody } from "./schemas.js";

/** Which gate stands in front of a route (app.ts mounts them on these paths). */
export type AuthScope = "admin" | "metrics" | "devices" | "open";

/** `path` in OpenAPI form (/api/configs/{mac}); a parameter never decides the scope. */
export function authScopeOf(method: string, path: string): AuthScope {
  if (path.startsWith("/api/")) return isAdminRoute(method, path) ? "admin" : "open";
  if (path === "/metrics") return "metrics";
  if (path.startsWith("/files/")) return "devices";
  return "open";
}

const EVERY_ROUTE: RouteErrors = {
  MISDIRECTED_REQUEST: "ALLOWED_HOSTS is set and the Host header names none of them",
  INTERNAL_ERROR: "An unexpected failure; the server's log has it under the correlation id",
};

const tokenRefused = (setting: string): RouteErrors => ({
  UNAUTHORIZED: `${setting} is set and the request has no bearer token, or one that is not accepted (WWW-Authenticate: Bearer)`,
});

const SHARED: Record<AuthScope, RouteErrors> = {
  admin: {
    ...tokenRefused("API_TOKEN_HASHES or OIDC_ISSUER"),
    FORBIDDEN: "A valid OIDC token without OIDC_REQUIRED_ROLE",
    AUTH_UNAVAILABLE: "The OIDC issuer cannot be reached to verify the token (Retry-After)",
    ...EVERY_ROUTE,
  },
  metrics: { ...tokenRefused("METRICS_TOKEN_HASHES"), ...EVERY_ROUTE },
  devices: { ...tokenRefused("DEVICE_TOKEN_HASHES"), ...EVERY_ROUTE },
  open: EVERY_ROUTE,
};

/** Admin operations need the token when admin authentication is configured; /metrics and /files only with their own lists. */
const SECURITY: Record<AuthScope, RouteConfig["security"]> = {
  admin: [{ bearerAuth: [] }],
  metrics: [{}, { bearerAuth: [] }],
  devices: [{}, { bearerAuth: [] }],
  open: [],
};

/** Headers some errors carry (AppError.headers), so clients know to look for them. */
const ERROR_HEADERS: Partial<Record<ErrorCode, Record<string, { description: string; schema: { type: "string" } }>>> = {
  UNAUTHORIZED: { "WWW-Authenticate": { description: "Bearer challenge", schema: { type: "string" } } },
  FORBIDDEN: {
    "WWW-Authenticate": { description: 'Bearer challenge, error="insufficient_scope"', schema: { type: "string" } },
  },
  AUTH_UNAVAILABLE: { "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "string" } } },
  SERVER_BUSY: { "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "string" } } },
};

/** One response for all the codes a route answers with one status: the error shape, its code narrowed to them. */
function errorResponse(status: number, codes: Array<[ErrorCode, string]>) {
  const names = codes.map(([code]) => code) as [ErrorCode, ...ErrorCode[]];
  const headers = Object.assign({}, ...names.map((code) => ERROR_HEADERS[code] ?? {}));
  return {
    description: codes.map(([code, when]) => `${code}: ${when}`).join(". "),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    content: {
      "application/json": {
        schema: z.intersection(ErrorBody, z.object({ code: z.enum(names), status: z.literal(status) })),
      },
    },
  };
}

/** The definition as documented: its own and its scope's errors as responses, and the scope's security. */
export function completeRoute({ errors = {}, ...route }: ApiRoute): RouteConfig {
  const scope = authScopeOf(route.method.toUpperCase(), route.path);
  const byStatus = new Map<number, Array<[ErrorCode, string]>>();
  for (const [code, entry] of Object.entries({ ...SHARED[scope], ...errors }) as Array<[ErrorCode, RouteError]>) {
    const [status, when] = typeof entry === "string" ? [statusOf(code), entry] : [entry.status, entry.when];
    if (!statusesOf(code).includes(status)) throw new Error(`${route.path}: ${code} is never answered ${status}`);
    byStatus.set(status, [...(byStatus.get(status) ?? []), [code, when]]);
  }
  const responses: RouteConfig["responses"] = { ...route.responses };
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) {
    // One response per status: a route declaring its own body for an error status (health's
    // 503) cannot also give an error code with that status, or the document would hide one.
    if (responses[status]) throw new Error(`${route.method} ${route.path}: status ${status} declared twice`);
    responses[status] = errorResponse(status, byStatus.get(status) ?? []);
  }
  return { ...route, security: SECURITY[scope], responses };
}

/** Definitions already completed: completing one twice would add its shared errors twice. */
const completed = new WeakSet<RouteConfig>();

/** Completes every route definition the assembled app holds (sub-apps' included, merged by `route()`). */
export function completeRoutes(app: Api): void {
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== "route" || completed.has(definition.route)) continue;
    definition.route = completeRoute(definition.route);
    completed.add(definition.route);
  }
}
