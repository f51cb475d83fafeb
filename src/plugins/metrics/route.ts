/** GET /metrics: the Prometheus text exposition, rendered by whatever the runtime passed in. */
import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../../core/deps.js";

export function metricsRoutes(render: NonNullable<AppDeps["metrics"]>) {
  return new Hono<AppEnv>().get("/", async (c) => {
    const { contentType, body } = await render();
    return c.body(body, 200, { "Content-Type": contentType });
  });
}
