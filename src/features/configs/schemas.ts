/**
 * The shapes and routes of /api/configs, declared once: body.ts checks the PUT body with
 * PutConfigBody; routes.ts mounts its handlers with the route definitions below, and the API
 * docs are generated from them. The PUT body is read by body.ts, not by a validator, so its
 * errors keep their precise codes and limits.
 */
import { z } from "zod";
import { createRoute } from "../../core/api-routes.js";
import { MacParam } from "../../core/schemas.js";

/**
 * Deepest nesting of arrays and objects accepted in a config's content (the content object
 * itself is level 1). JSON.parse reads any depth, but JSON.stringify recurses and overflows the
 * stack a few thousand levels down, so a small body could otherwise end in a 500; real configs
 * stay far below this (ArduinoJson, common on ESP32, defaults to 10).
 */
export const MAX_CONTENT_DEPTH = 64;
export const CONTENT_TOO_DEEP = `must not nest arrays and objects more than ${MAX_CONTENT_DEPTH} levels deep`;

/** Whether `value` nests at most `max` levels deep; iterative, so any input is safe to check. */
export function nestsWithin(value: unknown, max = MAX_CONTENT_DEPTH): boolean {
  const pending: Array<[unknown, number]> = [[value, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== "object" || item === null) continue;
    if (depth > max) return false;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return true;
}

export const ConfigContent = z
  .record(z.string(), z.unknown())
  .refine((content) => nestsWithin(content), { message: CONTENT_TOO_DEEP })
  .meta({
    description: `The device's configuration document, stored as-is (at most ${MAX_CONTENT_DEPTH} levels of nesting)`,
    example: { deviceName: "Kitchen sensor", deviceEntityId: "sensor.kitchen", enableOTA: true },
  });

const summaryFields = {
  mac_address: z.string(),
  device_name: z.string().nullable().meta({ description: "content.deviceName, or null" }),
  device_entity_id: z.string().nullable().meta({ description: "content.deviceEntityId, or null" }),
  enable_ota: z.boolean().nullable().meta({ description: "content.enableOTA, or null" }),
};

// The ids name the document's components (#/components/schemas/<id>).
export const ConfigSummary = z.object(summaryFields).meta({ id: "ConfigSummary" });

export const DeviceConfig = z.object({ ...summaryFields, content: ConfigContent }).meta({ id: "DeviceConfig" });

export const ConfigList = z
  .object({ configs: z.array(ConfigSummary), count: z.number().int() })
  .meta({ id: "ConfigList" });

export const PutConfigBody = z
  .object({
    content: ConfigContent,
    allow_overwrite: z
      .boolean()
      .default(true)
      .meta({ description: "When false, an existing config is not replaced (409 RECORD_EXISTS)" }),
  })
  .meta({ id: "PutConfigBody" });

// The routes, declared once: routes.ts mounts its handlers with these, and the API docs are made from them.
const json = <T>(schema: T) => ({ "application/json": { schema } });
const macParams = z.object({ mac: MacParam });
const BAD_MAC = "The MAC address is not six hex pairs separated by dashes";
const STORAGE = "The storage is not usable (a data directory missing, object storage unreachable)";

export const listConfigs = createRoute({
  method: "get",
  path: "/",
  tags: ["Configs"],
  summary: "List device configurations (summaries), sorted by MAC",
  description: "Files that are not `<mac>.json` or not a JSON object are skipped (and logged), never failing the list.",
  responses: { 200: { description: "Every readable configuration", content: json(ConfigList) } },
  errors: { STORAGE_UNAVAILABLE: STORAGE },
});

export const getConfig = createRoute({
  method: "get",
  path: "/{mac}",
  tags: ["Configs"],
  summary: "Get one device configuration",
  request: { params: macParams },
  responses: { 200: { description: "The configuration", content: json(DeviceConfig) } },
  errors: {
    INVALID_OPERATION: BAD_MAC,
    RECORD_NOT_FOUND: "No configuration for this MAC",
    STORAGE_UNAVAILABLE: STORAGE,
  },
});

export const putConfig = createRoute({
  method: "put",
  path: "/{mac}",
  tags: ["Configs"],
  summary: "Create or update a device configuration; devices are notified once it is stored",
  request: {
    params: macParams,
    body: {
      required: true,
      description: "At most MAX_CONFIG_BYTES, as sent and as stored",
      content: json(PutConfigBody),
    },
  },
  responses: { 200: { description: "The stored configuration", content: json(DeviceConfig) } },
  errors: {
    INVALID_OPERATION: BAD_MAC,
    VALIDATION_FAILED:
      "The body is not JSON, not UTF-8, not complete, or not as PutConfigBody says: `content` missing or not an object, nested too deep, a number JSON cannot hold exactly (details.field names it)",
    REQUEST_TIMEOUT:
      "The body sent nothing for UPLOAD_IDLE_TIMEOUT_MS, or came slower than UPLOAD_MIN_BYTES_PER_SECOND",
    RECORD_EXISTS: "allow_overwrite is false and a configuration for this MAC exists",
    NAME_OCCUPIED: "A directory of that name is in the configs directory",
    PAYLOAD_TOO_LARGE: "The body, or the configuration as stored, is larger than MAX_CONFIG_BYTES",
    SERVER_BUSY:
      "Too many slow config bodies at once (MAX_CONCURRENT_UPLOADS, MAX_UPLOADS_PER_CLIENT); retry after Retry-After",
    STORAGE_UNAVAILABLE: STORAGE,
    STORAGE_FULL: "The disk is full: nothing was stored",
  },
});

export const deleteConfig = createRoute({
  method: "delete",
  path: "/{mac}",
  tags: ["Configs"],
  summary: "Delete a device configuration (no notification)",
  request: { params: macParams },
  responses: { 204: { description: "Deleted" } },
  errors: {
    INVALID_OPERATION: BAD_MAC,
    RECORD_NOT_FOUND: "No configuration for this MAC",
    STORAGE_UNAVAILABLE: STORAGE,
  },
});
