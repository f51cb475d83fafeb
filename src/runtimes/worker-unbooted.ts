/**
 * What a Worker whose boot failed answers. A process would print one line and exit; a
 * Worker has no process to stop, so every request is answered 503, saying why: health
 * in its own shape (`status: "unhealthy"` with a reason), so a monitor pointed at it sees
 * the cause, and every other route in the API's error shape with SERVER_MISCONFIGURED.
 * The reason is the BootError's one line, which names the variable and never holds a
 * secret's value; an unexpected error's message may hold anything, so it is left to the log.
 */
import { correlationIdOf } from "../core/correlation-id.js";
import { AppError, toErrorBody } from "../core/errors.js";
import { asBootError, type BootFailureCode } from "./boot-failure.js";

export interface BootFailure {
  code: BootFailureCode;
  /** The setting or binding at fault, when one is. */
  variable?: string;
  /** One line for the operator. */
  reason: string;
}

const UNEXPECTED = "the server could not start; its log says why";

export function bootFailureOf(error: unknown): BootFailure {
  const known = asBootError(error);
  if (!known) return { code: "BOOT_FAILED", reason: UNEXPECTED };
  return { code: known.code, reason: known.message, ...(known.variable ? { variable: known.variable } : {}) };
}

const isHealth = (request: Request) =>
  (request.method === "GET" || request.method === "HEAD") && new URL(request.url).pathname === "/api/health";

export function unbootedResponse(request: Request, failure: BootFailure, version: string): Response {
  // The same rule as Hono's requestId middleware, which did not get to run.
  const correlationId = correlationIdOf(request.headers.get("x-request-id"));
  const init = { status: 503, headers: { "X-Request-Id": correlationId, "X-Content-Type-Options": "nosniff" } };
  const { code, variable, reason } = failure;
  if (isHealth(request)) {
    // `status` and `reason` mean what they mean on every runtime; storage and the sink were never built, so they are absent.
    return Response.json({ status: "unhealthy", reason, code, ...(variable ? { variable } : {}), version }, init);
  }
  const error = new AppError(
    "SERVER_MISCONFIGURED",
    `The server is misconfigured and cannot serve requests: ${reason}`,
    { details: { ...(variable ? { variable } : {}), reason_code: code } },
  );
  return Response.json(toErrorBody(error, correlationId), init);
}
