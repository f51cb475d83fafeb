/**
 * The one place that maps errors to HTTP: the API's error shape with the correlation
 * id, no stack traces, no server paths. Unexpected errors are logged once, with
 * the correlation id, and answered with a generic 500.
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./deps.js";
import { AppError, isAppError, toErrorBody } from "./errors.js";
import { errorFields, type Logger } from "./logger.js";

function fromHttpException(error: HTTPException): AppError {
  // Hono raises these itself, e.g. for malformed JSON in a validated body.
  if (error.status === 413) return new AppError("PAYLOAD_TOO_LARGE", "Request body too large");
  if (error.status >= 400 && error.status < 500) {
    return new AppError("VALIDATION_FAILED", error.message || "Invalid request", { details: { field: "body" } });
  }
  return new AppError("INTERNAL_ERROR", "Internal server error", { cause: error });
}

export function errorHandler(logger: Logger): ErrorHandler<AppEnv> {
  return function handleError(error, c) {
    const correlationId = c.get("requestId") ?? "unknown";
    let appError: AppError;
    if (isAppError(error)) appError = error;
    else if (error instanceof HTTPException) appError = fromHttpException(error);
    else appError = new AppError("INTERNAL_ERROR", "Internal server error", { cause: error });

    if (appError.status >= 500) {
      logger.error("request failed", {
        correlationId,
        method: c.req.method,
        route: c.req.routePath,
        code: appError.code,
        ...errorFields(appError.cause ?? appError),
      });
    }
    return respond(c, appError, correlationId);
  };
}

function respond(c: Context<AppEnv>, error: AppError, correlationId: string) {
  return c.json(toErrorBody(error, correlationId), error.status as 400, error.headers);
}

export function notFoundHandler(): NotFoundHandler<AppEnv> {
  return function handleNotFound(c) {
    const error = new AppError("ROUTE_NOT_FOUND", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`);
    return respond(c, error, c.get("requestId") ?? "unknown");
  };
}
