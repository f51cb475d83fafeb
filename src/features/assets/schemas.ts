/** The shapes of POST /api/assets, for the API docs (the multipart body is read by multipart.ts). */
import { z } from "zod";

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
