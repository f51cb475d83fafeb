/**
 * The shapes and the route of POST /api/assets: routes.ts mounts its handler with the
 * definition, and the API docs are generated from it. The multipart body is streamed by
 * upload.ts (multipart.ts), never buffered or validated ahead of it.
 */
import { z } from "zod";
import { createRoute } from "../../core/api-routes.js";

export const UploadForm = z
  .object({
    signature_version: z.enum(["1", "2"]).optional().meta({
      description:
        '1 (default): the signature covers the timestamp. 2: it covers `timestamp + "\\n" + filename + "\\n" + sha256_hex(file)`; send it before the file',
    }),
    timestamp: z.string().meta({ description: "ISO 8601; no offset means UTC", example: "2026-01-01T12:00:00Z" }),
    signature: z.string().meta({
      description: "base64 RSA PKCS#1 v1.5 SHA-256 signature (see signature_version); each signature is accepted once",
    }),
    file: z.string().meta({ format: "binary", description: "The asset; its part's filename is the stored name" }),
  })
  .meta({ id: "UploadForm" });

export const UploadResult = z
  .object({
    filename: z.string(),
    size: z.number().int(),
    uploaded_at: z.string().meta({ description: "The signed timestamp in UTC, ISO 8601 with +00:00" }),
  })
  .meta({ id: "UploadResult" });

// The routes, declared once: routes.ts mounts its handlers with these, and the API docs are made from them.
export const uploadAsset = createRoute({
  method: "post",
  path: "/",
  tags: ["Assets"],
  summary: "Upload a signed asset (firmware, …); devices are notified once it is stored",
  description:
    "Authenticated by its RSA signature, not by a bearer token. Streamed to storage: memory use does not grow with the file. " +
    "Fields are checked in this order, whatever the order of the parts: present, filename, timestamp, signature; nothing is stored unless all pass.",
  request: {
    body: {
      required: true,
      description: "At most MAX_UPLOAD_BYTES in all",
      content: { "multipart/form-data": { schema: UploadForm } },
    },
  },
  responses: { 200: { description: "Stored", content: { "application/json": { schema: UploadResult } } } },
  errors: {
    VALIDATION_FAILED:
      "details.field names the field at fault: file, filename, timestamp, signature (also: already used, version refused), or body (not multipart, malformed, incomplete)",
    REQUEST_TIMEOUT:
      "The body sent nothing for UPLOAD_IDLE_TIMEOUT_MS, or came slower than UPLOAD_MIN_BYTES_PER_SECOND before its signature was verified",
    NAME_OCCUPIED: "A directory of that name is in the assets directory",
    PAYLOAD_TOO_LARGE: "The body is larger than MAX_UPLOAD_BYTES",
    SERVER_BUSY: "MAX_CONCURRENT_UPLOADS or MAX_UPLOADS_PER_CLIENT reached; retry after Retry-After",
    STORAGE_UNAVAILABLE: "The storage is not usable",
    STORAGE_FULL: "The disk is full: nothing was stored",
  },
});
