/**
 * The request and response shapes, declared once. The routes validate with these
 * schemas and the OpenAPI document is generated from the very same objects, so
 * the docs cannot drift from the behaviour.
 */
import { z } from "zod";
import { ERROR_CODES } from "./errors.js";

export const MacParam = z.string().meta({
  description: "Device MAC address, six hex pairs separated by dashes, any letter case",
  example: "aa-bb-cc-dd-ee-ff",
});

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

export const ConfigSummary = z.object({
  mac_address: z.string(),
  device_name: z.string().nullable().meta({ description: "content.deviceName, or null" }),
  device_entity_id: z.string().nullable().meta({ description: "content.deviceEntityId, or null" }),
  enable_ota: z.boolean().nullable().meta({ description: "content.enableOTA, or null" }),
});

export const DeviceConfig = ConfigSummary.extend({ content: ConfigContent });

export const ConfigList = z.object({ configs: z.array(ConfigSummary), count: z.number().int() });

export const PutConfigBody = z.object({
  content: ConfigContent,
  allow_overwrite: z
    .boolean()
    .default(true)
    .meta({ description: "When false, an existing config is not replaced (409 RECORD_EXISTS)" }),
});

export const UploadForm = z.object({
  file: z.string().meta({ format: "binary", description: "The asset; its part's filename is the stored name" }),
  timestamp: z.string().meta({ description: "ISO 8601; no offset means UTC", example: "2026-01-01T12:00:00Z" }),
  signature: z
    .string()
    .meta({ description: "base64 RSA PKCS#1 v1.5 SHA-256 signature of the timestamp's UTF-8 bytes" }),
});

export const UploadResult = z.object({
  filename: z.string(),
  size: z.number().int(),
  uploaded_at: z.string().meta({ description: "The signed timestamp in UTC, ISO 8601 with +00:00" }),
});

export const ErrorBody = z.object({
  error: z.string(),
  details: z.record(z.string(), z.unknown()),
  code: z.enum(ERROR_CODES),
  status: z.number().int(),
  correlationId: z.string(),
});

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
