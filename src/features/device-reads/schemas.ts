/**
 * The routes of the device reads, declared once: routes.ts mounts its handlers with these
 * definitions and the API docs are generated from them. Parameters are documented, never
 * validated by middleware: these are the hottest routes, and they check their own names.
 */
import { z } from "zod";
import { createRoute } from "../../core/api-routes.js";

const STORAGE = "The storage is not usable (a data directory missing, object storage unreachable)";
const header = (description: string) => ({ description, schema: { type: "string" as const } });
const FILE_HEADERS = {
  ETag: header('Strong: the SHA-256 of the bytes, in quotes ("<hex>")'),
  "Last-Modified": header("When the file was stored"),
  "Cache-Control": header("no-cache: revalidate each time with If-None-Match"),
};
const conditional = z.object({
  "if-none-match": z.string().optional().meta({ description: "An ETag held: 304 when it is current" }),
});

export const readConfigFile = createRoute({
  method: "get",
  path: "/configs/{file}",
  tags: ["Device reads"],
  summary: "Device read of a config file (<mac>.json), bytes exactly as stored",
  request: {
    params: z.object({
      file: z.string().meta({ description: "<mac>.json, any letter case", example: "aa-bb-cc-dd-ee-ff.json" }),
    }),
    headers: conditional,
  },
  responses: {
    200: { description: "The file", headers: FILE_HEADERS, content: { "application/json": { schema: {} } } },
    304: { description: "If-None-Match matched", headers: FILE_HEADERS },
  },
  errors: {
    INVALID_OPERATION: "Not a <mac>.json name",
    RECORD_NOT_FOUND:
      "No such config (also: anything but a regular file directly in the configs directory; with DEVICE_AUTH=device, another device's config)",
    TOO_MANY_REQUESTS: "With DEVICE_AUTH=open: this address missed DEVICE_READ_MISS_LIMIT times this minute",
    STORAGE_UNAVAILABLE: STORAGE,
  },
});

export const readAssetFile = createRoute({
  method: "get",
  path: "/assets/{name}",
  tags: ["Device reads"],
  summary: "Device read of an asset; resumable with a single Range",
  request: {
    params: z.object({ name: z.string().meta({ description: "The stored asset name", example: "firmware.bin" }) }),
    headers: conditional.extend({
      range: z.string().optional().meta({ description: "One byte range, e.g. bytes=1024-", example: "bytes=1024-" }),
      "if-range": z.string().optional().meta({ description: "An ETag or date: the range only if it still matches" }),
    }),
  },
  responses: {
    200: {
      description: "The file, typed from its extension (else application/octet-stream), with Accept-Ranges: bytes",
      headers: FILE_HEADERS,
      content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
    },
    206: {
      description: "The requested byte range (Content-Range: bytes <first>-<last>/<size>)",
      headers: FILE_HEADERS,
      content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
    },
    304: { description: "If-None-Match matched", headers: FILE_HEADERS },
    416: { description: "Range not satisfiable (Content-Range: bytes */<size>); no body" },
  },
  errors: {
    VALIDATION_FAILED: "The name is not allowed (details.field is filename)",
    RECORD_NOT_FOUND: "No such asset (also: anything but a regular file directly in the assets directory)",
    STORAGE_UNAVAILABLE: STORAGE,
  },
});
