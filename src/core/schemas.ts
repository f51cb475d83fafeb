/**
 * The shapes every capability shares: the API's error body and a MAC in a path. Each
 * capability declares its own beside its routes (features/<name>/schemas.ts); the API
 * docs are built from those very objects, so they cannot drift from the behaviour.
 */
import { z } from "zod";
import { ERROR_CODES } from "./errors.js";

export const MacParam = z.string().meta({
  description: "Device MAC address, six hex pairs separated by dashes, any letter case",
  example: "aa-bb-cc-dd-ee-ff",
});

export const ErrorBody = z
  .object({
    error: z.string().meta({ description: "What went wrong, for the operator" }),
    details: z.record(z.string(), z.unknown()).meta({ description: "Always an object, often empty" }),
    code: z.enum(ERROR_CODES),
    status: z.number().int().meta({ description: "The HTTP status, repeated" }),
    correlationId: z.string().meta({ description: "Also sent as X-Request-Id; the key to the server's log line" }),
  })
  .meta({ id: "Error", description: "The API's error shape (docs/reference.md, Errors)" });
