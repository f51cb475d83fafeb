/** The shape and the definition of GET /api/health. */
import { z } from "zod";
import { createRoute } from "../../core/api-routes.js";

export const Health = z
  .object({
    status: z.enum(["healthy", "unhealthy"]),
    reason: z.string().optional(),
    storage: z.object({ driver: z.string(), ok: z.boolean() }),
    notifications: z.object({
      sink: z.string(),
      ready: z.boolean(),
      queue_depth: z.number().int(),
      pending: z.number().int(),
    }),
    version: z.string(),
    uptime_seconds: z.number(),
  })
  .meta({ id: "Health" });

/** GET /api/health; routes.ts mounts its handler with this definition. */
export const getHealth = createRoute({
  method: "get",
  path: "/",
  tags: ["Health"],
  summary: "Health: storage usable, notification sink readiness (information only)",
  responses: {
    200: { description: "Healthy", content: { "application/json": { schema: Health } } },
    503: {
      description: "Storage not usable; `reason` names the problem, never a server path",
      content: { "application/json": { schema: Health } },
    },
  },
});
