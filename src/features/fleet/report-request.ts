/**
 * Reads a status report's body: at most MAX_REPORT_BYTES, however it is sent (a declared
 * length over it is refused before reading; a chunked body is counted as it arrives), under
 * the body guard's idle and rate rules. What is left of a refused body is read and dropped
 * (up to MAX_DISCARD_BYTES) rather than cancelled: on Workers a request body cancelled
 * half-way made the runtime restart under the next request, answered 503.
 */
import { AppError, isAppError, payloadTooLarge } from "../../core/errors.js";
import { guardBody, MAX_DISCARD_BYTES } from "../request-limits/body-guard.js";
import { MAX_REPORT_BYTES } from "./report-body.js";

export interface ReportReading {
  idleMs: number;
  minBytesPerSecond: number;
  /** The sender was authenticated by the gate: no minimum rate. */
  proven: boolean;
  /** See AppDeps.refusedBodies. */
  refusedBodies: "background" | "before-answer";
}

/** Reads and drops the rest of a refused body; "before-answer" waits for it, "background" does not. */
async function dropRest(reader: ReadableStreamDefaultReader<Uint8Array>, reading: ReportReading): Promise<void> {
  const drained = (async () => {
    for (let result = await reader.read(); !result.done; result = await reader.read()) {
      // The guard below cuts the body past MAX_DISCARD_BYTES: nothing to count here.
    }
  })().catch((gone: unknown) => {
    // Cut by the guard, or the client went away: either way nothing more is read.
    void gone;
  });
  if (reading.refusedBodies === "before-answer") await drained;
}

export async function readReport(request: Request, reading: ReportReading): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  const body = request.body;
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > MAX_REPORT_BYTES) {
    if (body) await dropRest(body.getReader(), reading);
    throw payloadTooLarge(MAX_REPORT_BYTES);
  }
  if (!body) return new Uint8Array(0);
  const reader = guardBody(body, {
    maxBytes: MAX_REPORT_BYTES + MAX_DISCARD_BYTES,
    idleMs: reading.idleMs,
    minRate: { bytesPerSecond: reading.minBytesPerSecond, exempt: () => reading.proven },
  }).getReader();
  const out = new Uint8Array(MAX_REPORT_BYTES);
  let length = 0;
  try {
    for (let result = await reader.read(); !result.done; result = await reader.read()) {
      const chunk = result.value;
      if (length + chunk.byteLength > MAX_REPORT_BYTES) {
        await dropRest(reader, reading);
        throw payloadTooLarge(MAX_REPORT_BYTES);
      }
      out.set(chunk, length);
      length += chunk.byteLength;
    }
  } catch (error) {
    if (isAppError(error)) throw error;
    // The client's stream broke (typically: gone mid-body): its failure, not the server's.
    throw new AppError("VALIDATION_FAILED", "Request body could not be read completely", {
      details: { field: "body" },
      cause: error,
    });
  }
  return out.subarray(0, length);
}
