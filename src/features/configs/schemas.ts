/** The shapes of /api/configs, declared once: the route validates with them and the API docs are built from them. */
import { z } from "zod";

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
