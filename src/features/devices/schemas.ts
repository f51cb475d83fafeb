/** The shapes of /api/devices, declared once: each definition mounts its route and documents it. */
import { z } from "zod";
import { createRoute } from "../../core/api-routes.js";
import { MacParam } from "../../core/schemas.js";

const json = <T>(schema: T) => ({ "application/json": { schema } });
const macParams = z.object({ mac: MacParam });
const BAD_MAC = "The MAC address is not six hex pairs separated by dashes";
const STORAGE = "The storage is not usable (a data directory missing, object storage unreachable)";

export const IssuedToken = z.object({
  mac_address: z.string(),
  token: z.string().meta({
    description:
      "The device's token: shown in this answer only (the server keeps its SHA-256). The device sends it as Authorization: Bearer <token>",
    example: "iotd_Gx1u4xX0Qn3wUqQYk0mC8u9m2FzJrDg7hV6oA1bE5cI",
  }),
  issued_at: z.string().meta({ description: "ISO 8601, UTC" }),
});

export const issueDeviceToken = createRoute({
  method: "post",
  path: "/{mac}/token",
  tags: ["Devices"],
  summary: "Issue a device token (again: start a rotation, the previous token working until the new one is used once)",
  request: { params: macParams },
  responses: { 201: { description: "The new token, shown once", content: json(IssuedToken) } },
  errors: { INVALID_OPERATION: BAD_MAC, STORAGE_UNAVAILABLE: STORAGE },
});

export const revokeDeviceTokens = createRoute({
  method: "delete",
  path: "/{mac}/token",
  tags: ["Devices"],
  summary: "Revoke every token of a device (at once here, within 1 s on every server sharing the storage)",
  request: { params: macParams },
  responses: { 204: { description: "Revoked (also when the device had none)" } },
  errors: { INVALID_OPERATION: BAD_MAC, STORAGE_UNAVAILABLE: STORAGE },
});
