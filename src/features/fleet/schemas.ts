/**
 * The routes of the fleet, declared once: a device's status report (PUT /files/status/{mac}.json,
 * beside the device reads and behind the same gate) and the fleet view (GET /api/devices,
 * admin). The report body is checked by report-body.ts, not by a validator, so that its
 * errors name the field and unknown fields are ignored.
 */
import { z } from "zod";
import { createRoute } from "../../core/api-routes.js";
import { MacParam } from "../../core/schemas.js";
import { DEVICE_SYNC, REPORT_STATES } from "./contract.js";
import { MAX_ETAG_CHARS, MAX_FIRMWARE_VERSION_CHARS, MAX_MESSAGE_CHARS, MAX_REPORT_BYTES } from "./report-body.js";

const json = <T>(schema: T) => ({ "application/json": { schema } });
const STORAGE = "The storage is not usable (a data directory missing, object storage unreachable)";
const BAD_MAC = "The MAC address is not six hex pairs separated by dashes";

export const StatusReport = z
  .object({
    state: z.enum(REPORT_STATES),
    config_etag: z.string().max(MAX_ETAG_CHARS).optional().meta({
      description: "The ETag of the config the device applied, as in the ETag header (the quotes may be left out)",
    }),
    firmware_version: z.string().max(MAX_FIRMWARE_VERSION_CHARS).optional(),
    message: z.string().max(MAX_MESSAGE_CHARS).optional(),
  })
  .meta({
    id: "StatusReport",
    description: `What a device says it runs; at most ${MAX_REPORT_BYTES} bytes; other fields are ignored (newer firmware keeps working)`,
    example: { state: "ok", config_etag: '"3a7bd3e2…"', firmware_version: "1.4.2" },
  });

export const putStatusReport = createRoute({
  method: "put",
  path: "/status/{file}",
  tags: ["Device reads"],
  summary: "A device reports what it runs (<mac>.json); recorded durably before the answer",
  request: {
    params: z.object({
      file: z.string().meta({ description: "<mac>.json, any letter case", example: "aa-bb-cc-dd-ee-ff.json" }),
    }),
    body: { content: json(StatusReport), required: true },
  },
  responses: { 204: { description: "Recorded" } },
  errors: {
    INVALID_OPERATION: "Not a <mac>.json name",
    VALIDATION_FAILED: "The body is not a status report (details.field names the field at fault)",
    FORBIDDEN: "With DEVICE_AUTH=device: a device token reports for its own MAC only",
    PAYLOAD_TOO_LARGE: `The body is over ${MAX_REPORT_BYTES} bytes`,
    REQUEST_TIMEOUT: "The body stopped arriving",
    TOO_MANY_REQUESTS:
      "With DEVICE_AUTH=open: this address missed DEVICE_READ_MISS_LIMIT times this minute (a report for a MAC with neither a config nor a record counts as a miss)",
    SERVER_BUSY: "The server already keeps records of as many devices as it may, and this one is new",
    STORAGE_UNAVAILABLE: STORAGE,
  },
});

const etag = (description: string) => z.string().nullable().meta({ description });

export const Device = z
  .object({
    mac_address: z.string(),
    config_etag: etag("The ETag of the stored config, quotes included; null when it has none"),
    fetched_etag: etag("The last ETag the device fetched or confirmed in a report"),
    applied_etag: etag("The config_etag of its last report"),
    firmware_version: z.string().nullable().meta({ description: "From its last report" }),
    state: z.enum(REPORT_STATES).nullable().meta({ description: "From its last report" }),
    message: z.string().nullable().meta({ description: "From its last report" }),
    last_seen: z.string().nullable().meta({ description: "ISO 8601 UTC of its last read or report; null: never" }),
    sync: z.enum(DEVICE_SYNC).meta({
      description:
        "unseen: never read nor reported; current: its last report's config_etag (or, with no report naming one, its last fetch) is config_etag; behind: otherwise",
    }),
  })
  .meta({ id: "Device" });

export const DeviceList = z.object({ devices: z.array(Device), count: z.number().int() }).meta({ id: "DeviceList" });

export const listDevices = createRoute({
  method: "get",
  path: "/",
  tags: ["Devices"],
  summary: "Every device with a config or seen, sorted by MAC",
  request: {
    query: z.object({
      sync: z.enum(DEVICE_SYNC).optional().meta({ description: "Only devices in this sync state" }),
    }),
  },
  responses: { 200: { description: "The fleet", content: json(DeviceList) } },
  errors: { VALIDATION_FAILED: "sync is not unseen, current or behind", STORAGE_UNAVAILABLE: STORAGE },
});

export const getDevice = createRoute({
  method: "get",
  path: "/{mac}",
  tags: ["Devices"],
  summary: "One device",
  request: { params: z.object({ mac: MacParam }) },
  responses: { 200: { description: "The device", content: json(Device) } },
  errors: {
    INVALID_OPERATION: BAD_MAC,
    RECORD_NOT_FOUND: "The device has neither a config nor a record",
    STORAGE_UNAVAILABLE: STORAGE,
  },
});
