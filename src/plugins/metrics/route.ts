/** GET /metrics: the Prometheus text exposition, rendered by whatever the runtime passed in. */
import { addRoute, createApi, createRoute } from "../../core/api-routes.js";
import type { AppDeps } from "../../core/deps.js";

export const getMetrics = createRoute({
  method: "get",
  path: "/",
  tags: ["Metrics"],
  summary: "Prometheus metrics (docs/reference.md, Metrics)",
  responses: {
    200: {
      description: "Text exposition format",
      content: { "text/plain": { schema: { type: "string" } } },
    },
  },
});

export function metricsRoutes(render: NonNullable<AppDeps["metrics"]>) {
  return addRoute(createApi(), getMetrics, async (c) => {
    const { contentType, body } = await render();
    return c.body(body, 200, { "Content-Type": contentType });
  });
}
