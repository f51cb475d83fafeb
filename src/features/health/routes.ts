/**
 * GET /api/health. Storage is what health guards (503 when unusable); the sink's
 * readiness is reported as information only, since notifications are best effort.
 */
import { addRoute, createApi } from "../../core/api-routes.js";
import type { AppDeps } from "../../core/deps.js";
import { isAppError } from "../../core/errors.js";
import { errorFields } from "../../core/logger.js";
import { getHealth } from "./schemas.js";

export function healthRoutes(deps: AppDeps) {
  const started = (deps.now ?? Date.now)();
  return addRoute(createApi(), getHealth, async (c) => {
    const sinkStatus = deps.sink.status();
    const common = {
      storage: { driver: deps.storage.name, ok: true },
      notifications: {
        sink: deps.sink.name,
        ready: sinkStatus.ready,
        queue_depth: sinkStatus.queueDepth,
        pending: deps.notifier.pending(),
      },
      version: deps.version ?? "unknown",
      uptime_seconds: Math.round(((deps.now ?? Date.now)() - started) / 1000),
    };
    try {
      await deps.storage.check();
    } catch (error) {
      // The reason names the problem ("configs directory is missing"), never a server path.
      const reason =
        isAppError(error) && typeof error.details.reason === "string" ? error.details.reason : "storage check failed";
      deps.logger.error("health check failed", { reason, ...errorFields(isAppError(error) ? error.cause : error) });
      return c.json({ status: "unhealthy", reason, ...common, storage: { driver: deps.storage.name, ok: false } }, 503);
    }
    return c.json({ status: "healthy", ...common });
  });
}
