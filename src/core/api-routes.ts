/**
 * How a capability declares an HTTP route: one `createRoute` definition both mounts the
 * handler and documents it in the app's OpenAPI registry, so a route and its doc cannot
 * drift. No validator runs in between: each capability reads and checks its own input
 * (names.ts, configs/body.ts, assets/multipart.ts) and answers bad input in the API's error
 * shape with its precise codes and limits, and the device reads pay nothing per request.
 */
import { createRoute, OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { Handler } from "hono";
import type { AppEnv } from "./deps.js";
import type { ErrorCode } from "./errors.js";

export { createRoute };

/** A Hono app whose routes carry their OpenAPI definitions; `app.route()` merges a sub-app's. */
export type Api = OpenAPIHono<AppEnv>;
export const createApi = (): Api => new OpenAPIHono<AppEnv>();

/** When a route answers with a code (the response's description); with a status only for a code's second one (statusesOf). */
export type RouteError = string | { status: number; when: string };
export type RouteErrors = Partial<Record<ErrorCode, RouteError>>;

/**
 * A route definition plus the errors only it gives. Those every route of its scope shares
 * (authentication, ALLOWED_HOSTS, 500) are added once the app is assembled (route-errors.ts),
 * which also turns `errors` into responses in the API's error shape.
 */
export type ApiRoute = RouteConfig & { errors?: RouteErrors };

/** What `createRoute` makes of an ApiRoute: the definition, and its path in Hono's form ({mac} → :mac). */
export type DeclaredRoute = ApiRoute & { getRoutingPath(): string };

/**
 * Mounts `handler` at the definition's method and path, and registers the definition.
 * OpenAPIHono's own `openapi()` would also add zod validators for the declared params and
 * body, answering failures in another shape; this is the same minus those.
 */
export function addRoute<R extends DeclaredRoute>(
  app: Api,
  route: R,
  handler: Handler<AppEnv, ReturnType<R["getRoutingPath"]>>,
): Api {
  app.openAPIRegistry.registerPath(route);
  app.on(route.method.toUpperCase(), route.getRoutingPath(), handler);
  return app;
}

/** A plugin that adds routes to the assembled app, after the capabilities (the API docs). */
export interface RoutePlugin {
  name: string;
  mount(app: Api): void;
}
