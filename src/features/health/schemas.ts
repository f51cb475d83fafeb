/** The shape of GET /api/health. */
import { z } from "zod";

export const Health = z.object({
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
});
