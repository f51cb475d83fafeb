/**
 * The entry of the notification hub as a Worker of its own (wrangler.hub.toml): the same
 * Durable Object class, NotificationHub (worker-hub.ts), exported by a script that serves no
 * API. API Workers bind it with `script_name` pointing here, so the hub's MQTT client runs in
 * its own isolate instead of in the API Worker's script, and one hub can serve several API
 * Workers (docs/workers.md, "The hub as a Worker of its own").
 *
 * Everything reaches the hub through its binding's RPC; a plain request to this Worker is
 * answered 404 in the API's error shape (deployed with `workers_dev = false`, none arrives).
 */
import { correlationIdOf } from "../core/correlation-id.js";
import { AppError, toErrorBody } from "../core/errors.js";

/** The class the API Workers' NOTIFY_HUB binding names, with `script_name` = this Worker's name. */
export { NotificationHub } from "./worker-hub.js";

export default {
  fetch(request: Request): Response {
    const correlationId = correlationIdOf(request.headers.get("x-request-id"));
    const error = new AppError(
      "ROUTE_NOT_FOUND",
      "This Worker is the notification hub; it serves no HTTP routes (its API Workers reach it by RPC)",
    );
    return Response.json(toErrorBody(error, correlationId), {
      status: 404,
      headers: { "X-Request-Id": correlationId, "X-Content-Type-Options": "nosniff" },
    });
  },
};
