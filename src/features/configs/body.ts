/**
 * Reads and checks the body of `PUT /api/configs/{mac}`: JSON, at most MAX_CONFIG_BYTES
 * as sent AND as it would be stored (two-space indentation can multiply a body of
 * nested empty arrays sixty-fold), numbers that a double holds exactly, and the shape
 * of PutConfigBody. Nothing here touches storage; a refusal means nothing is written.
 */

import { AppError, isAppError, payloadTooLarge, validationFailed } from "../../core/errors.js";
import { readGuardedBytes } from "../request-limits/body-guard.js";
import type { BodySlots, Slot } from "../request-limits/body-slots.js";
import { inexactNumber } from "./json-numbers.js";
import { indentedJsonSize } from "./json-size.js";
import { CONTENT_TOO_DEEP, nestsWithin, PutConfigBody } from "./schemas.js";
import type { ConfigContent } from "./store.js";

export interface ConfigBodyLimits {
  maxBytes: number;
  idleMs: number;
  /** The least rate while the sender is not authenticated (0: none). */
  minBytesPerSecond: number;
}

/**
 * Who is sending, for the slow-body rules: a config body that has not fully arrived after
 * SLOW_BODY_MS must hold one of `slots` (the same bound and per-client share as uploads),
 * and one from an unauthenticated sender must keep the minimum rate. A body that arrives
 * at once, as every real client's does, never needs a slot.
 */
export interface ConfigBodySender {
  slots: BodySlots;
  client: string | undefined;
  /** An authenticated admin (the gate ran before): no share, no minimum rate. */
  proven: boolean;
}

/** How long a config body may take before it counts as slow and needs a slot. */
export const SLOW_BODY_MS = 2000;

export interface ConfigBody {
  content: ConfigContent;
  allowOverwrite: boolean;
}

const isJson = (contentType: string | undefined) =>
  !!contentType && /^application\/([\w.-]+\+)?json\s*(;|$)/i.test(contentType.trim());

const bodyError = (message: string, field = "body", details: Record<string, unknown> = {}) =>
  validationFailed(message, { field, ...details });

/** Reads the body under the guard and, once it is slow, a slot; a broken stream is the client's failure. */
async function readBody(request: Request, limits: ConfigBodyLimits, sender?: ConfigBodySender): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array(0);
  const abort = new AbortController();
  let slot: Slot | undefined;
  const slow = setTimeout(() => {
    try {
      slot = sender?.slots.acquire(sender.client, sender.proven);
    } catch (busy) {
      abort.abort(busy);
    }
  }, SLOW_BODY_MS);
  try {
    return await readGuardedBytes(request.body, {
      maxBytes: limits.maxBytes,
      idleMs: limits.idleMs,
      minRate: { bytesPerSecond: limits.minBytesPerSecond, exempt: () => sender?.proven === true },
      signal: abort.signal,
    });
  } catch (error) {
    if (isAppError(error)) throw error;
    // Not ours: the client's body stream broke, typically a client gone mid-body. Its failure, not the server's.
    throw new AppError("VALIDATION_FAILED", "Request body could not be read completely", {
      details: { field: "body" },
      cause: error,
    });
  } finally {
    clearTimeout(slow);
    slot?.release();
  }
}

export async function readConfigBody(
  request: Request,
  limits: ConfigBodyLimits,
  sender?: ConfigBodySender,
): Promise<ConfigBody> {
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > limits.maxBytes) {
    throw payloadTooLarge(limits.maxBytes);
  }
  if (!isJson(request.headers.get("content-type") ?? undefined)) {
    throw bodyError("Request body must be JSON (Content-Type: application/json)");
  }
  const bytes = await readBody(request, limits, sender);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new AppError("VALIDATION_FAILED", "Request body is not valid UTF-8", {
      details: { field: "body" },
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AppError("VALIDATION_FAILED", "Malformed JSON in request body", {
      details: { field: "body" },
      cause: error,
    });
  }
  const inexact = inexactNumber(text);
  if (inexact !== undefined) {
    throw bodyError(
      `Invalid request body: the number ${inexact.slice(0, 40)} cannot be stored exactly ` +
        "(JSON numbers are read as IEEE-754 doubles); send it as a string",
      "content",
    );
  }
  const result = PutConfigBody.safeParse(parsed);
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    const first = issues[0];
    throw bodyError(
      first ? `Invalid request body: ${first.path || "body"}: ${first.message}` : "Invalid request body",
      first?.path.split(".")[0] || "body",
      { issues },
    );
  }
  // zod rebuilds a record key by key and drops a "__proto__" key (against prototype
  // pollution), so its copy could lose a key and still answer 200. Store the content
  // exactly as sent: JSON.parse makes every key an own property. The schema checked the
  // depth of zod's copy; check the kept key's subtree too, by checking it all.
  const { content } = parsed as { content: ConfigContent };
  if (!nestsWithin(content)) throw bodyError(`Invalid request body: content: ${CONTENT_TOO_DEEP}`, "content");
  if (indentedJsonSize(content, limits.maxBytes) > limits.maxBytes) {
    throw new AppError(
      "PAYLOAD_TOO_LARGE",
      `The configuration would be stored as more than ${limits.maxBytes} bytes (two-space indented JSON)`,
      { details: { max_bytes: limits.maxBytes } },
    );
  }
  return { content, allowOverwrite: result.data.allow_overwrite };
}
