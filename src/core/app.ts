/**
 * createApp(deps): the whole HTTP contract as a Hono app, runtime-neutral.
 * Runtimes build the dependencies and serve `app.fetch`; tests call `app.request`.
 * Every route is declared with its OpenAPI definition (api-routes.ts); the docs plugin,
 * when chosen, serves the document generated from this app.
 */
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { assetRoutes } from "../features/assets/routes.js";
import { configRoutes } from "../features/configs/routes.js";
import { fileRoutes } from "../features/device-reads/routes.js";
import { deviceRoutes } from "../features/devices/routes.js";
import { statusRoutes } from "../features/fleet/status-route.js";
import { fleetViewRoutes } from "../features/fleet/view-routes.js";
import { healthRoutes } from "../features/health/routes.js";
import { rolloutRoutes } from "../features/rollouts/routes.js";
import { metricsRoutes } from "../plugins/metrics/route.js";
import { createApi } from "./api-routes.js";
import { authGate, isAdminRoute } from "./auth/gate.js";
import { allowedHosts } from "./auth/hosts.js";
import type { AppDeps } from "./deps.js";
import { errorHandler, notFoundHandler } from "./http-errors.js";
import { secondsSince } from "./observer.js";

export function createApp(deps: AppDeps) {
  const app = createApi();

  app.use(requestId());
  app.use(async function noSniffing(c, next) {
    // Every answer is typed on purpose (JSON, the stored bytes' type): browsers must not guess another.
    // Set before the handler, so answers built through the context carry it as they are made:
    // setting a header on a finished answer makes Hono rebuild it around a stream, which cost
    // device reads most of their speed on Node. Only an answer built without the context
    // (none today) is rebuilt here.
    c.header("X-Content-Type-Options", "nosniff");
    await next();
    if (!c.res.headers.has("X-Content-Type-Options")) c.header("X-Content-Type-Options", "nosniff");
  });
  app.use(async function observeRequest(c, next) {
    const start = performance.now();
    await next();
    // routePath is the matched *pattern*, so labels stay bounded (no MACs, no filenames).
    const route = c.res.status === 404 && c.req.routePath === "/*" ? "unmatched" : c.req.routePath;
    const seconds = secondsSince(start);
    deps.observer.httpRequest(c.req.method, route, c.res.status, seconds);
    if (deps.logger.enabled?.("debug") === false) return;
    deps.logger.debug("request", {
      correlationId: c.get("requestId"),
      method: c.req.method,
      route,
      status: c.res.status,
      ms: Math.round(seconds * 1000),
    });
  });
  if (deps.auth.allowedHosts) app.use(allowedHosts(deps.auth.allowedHosts));
  const corsHeaders = cors({
    origin: deps.corsOrigins.includes("*") ? "*" : deps.corsOrigins,
    allowMethods: ["GET", "PUT", "POST", "DELETE", "OPTIONS"],
    allowHeaders: ["Content-Type", "X-Request-Id", "Authorization"],
    exposeHeaders: ["X-Request-Id", "WWW-Authenticate", "Retry-After"],
    maxAge: 600,
  });
  app.use("/api/*", async function corsForBrowsers(c, next) {
    if (c.req.header("origin")) return corsHeaders(c, next);
    // Devices and scripts send no Origin: skip the CORS work (which rebuilds the finished
    // response to add Vary), but still tell caches that the answer depends on Origin.
    c.header("Vary", "Origin");
    await next();
  });

  // Authentication comes after CORS, so that a refusal still carries the CORS headers a browser needs to read it.
  const { admin, metrics } = deps.auth;
  if (admin) app.use("/api/*", authGate(admin, deps.observer, isAdminRoute));
  if (metrics)
    app.use(
      "/metrics",
      authGate(metrics, deps.observer, () => true),
    );
  const deviceGate = deps.devices.access.gate;
  if (deviceGate) app.use("/files/*", deviceGate);

  app.route("/api/configs", configRoutes(deps));
  app.route("/api/assets", assetRoutes(deps));
  app.route("/api/health", healthRoutes(deps));
  app.route("/api/devices", deviceRoutes(deps));
  app.route("/api/devices", fleetViewRoutes(deps));
  app.route("/api/rollouts", rolloutRoutes(deps));
  app.route("/files", fileRoutes(deps));
  app.route("/files", statusRoutes(deps));
  if (deps.metrics) app.route("/metrics", metricsRoutes(deps.metrics));
  deps.docs?.mount(app);

  app.onError(errorHandler(deps.logger));
  app.notFound(notFoundHandler());
  return app;
}

export type App = ReturnType<typeof createApp>;
