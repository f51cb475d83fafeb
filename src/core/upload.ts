/**
 * The asset upload pipeline, apart from HTTP: read a multipart stream, spool the
 * file part into a staged write, then validate in SPEC's order (fields present,
 * filename, timestamp, signature) and commit only when everything passed.
 * Whatever the order of the parts, a rejected upload leaves nothing behind.
 */
import { AppError, isAppError, payloadTooLarge, validationFailed } from "./errors.js";
import { drain, type Part, parseMultipart, readTextPart } from "./multipart.js";
import { filenameProblem } from "./names.js";
import type { OperationObserver, UploadErrorType } from "./observer.js";
import { secondsSince } from "./observer.js";
import { decodeSignature, verifySignature } from "./signing-key.js";
import type { AssetStore, StagedWrite } from "./storage.js";
import { driftSeconds, parseTimestamp } from "./timestamp.js";

export interface UploadResultBody {
  filename: string;
  size: number;
  uploaded_at: string;
}

export interface UploadDeps {
  assets: AssetStore;
  observer: OperationObserver;
  verifyKey: CryptoKey;
  toleranceSeconds: number;
  maxBytes: number;
  now: () => number;
}

const MAX_FIELD_BYTES = 4096;
const REQUIRED = ["file", "timestamp", "signature"] as const;

/** A storage failure during an upload, kept apart so metrics can say "filesystem". */
class UploadStorageError extends AppError {
  constructor(cause: unknown) {
    super(
      isAppError(cause) ? cause.code : "INTERNAL_ERROR",
      isAppError(cause) ? cause.message : "Could not store the upload",
      {
        cause,
        details: isAppError(cause) ? cause.details : {},
      },
    );
  }
}

const fieldError = (field: string, message: string) => validationFailed(message, { field });

/** Maps an error to the bounded `error_type` label by its type and code, never by text. */
export function uploadErrorType(error: unknown): UploadErrorType {
  if (error instanceof UploadStorageError) return "filesystem";
  if (!isAppError(error)) return "unknown";
  if (error.code === "STORAGE_UNAVAILABLE") return "filesystem";
  const field = error.details.field;
  if (field === "filename" || field === "timestamp" || field === "signature") return field;
  if (error.code === "VALIDATION_FAILED" || error.code === "PAYLOAD_TOO_LARGE") return "validation";
  return "unknown";
}

/** Counts bytes as they pass and fails the stream once the limit is crossed. */
export function limitStream(body: ReadableStream<Uint8Array>, maxBytes: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > maxBytes) controller.error(payloadTooLarge(maxBytes));
        else controller.enqueue(chunk);
      },
    }),
  );
}

interface Collected {
  fields: Map<string, string>;
  file?: { filename: string; problem?: string; staged?: StagedWrite; size: number };
}

/** Reads every part into `collected`, which the caller owns so it can abort a staged file on any failure. */
async function collect(parts: AsyncIterable<Part>, assets: AssetStore, collected: Collected): Promise<void> {
  for await (const part of parts) {
    if (part.name === "file" && part.filename !== undefined) {
      if (collected.file) throw fieldError("file", "Only one file may be uploaded per request");
      const problem = filenameProblem(part.filename);
      const file: NonNullable<Collected["file"]> = { filename: part.filename, problem, size: 0 };
      collected.file = file;
      if (problem) {
        // Never touch storage with a name we are going to refuse.
        await drain(part);
        continue;
      }
      try {
        file.staged = await assets.stage(part.filename);
      } catch (error) {
        throw new UploadStorageError(error);
      }
      for await (const chunk of part.body) {
        try {
          await file.staged.write(chunk);
        } catch (error) {
          throw new UploadStorageError(error);
        }
        file.size += chunk.byteLength;
      }
    } else if ((part.name === "timestamp" || part.name === "signature") && part.filename === undefined) {
      if (collected.fields.has(part.name)) throw fieldError(part.name, `Field ${part.name} was sent more than once`);
      collected.fields.set(part.name, await readTextPart(part, MAX_FIELD_BYTES));
    } else {
      await drain(part);
    }
  }
}

/**
 * Runs one upload. Resolves with the response body once the asset is durably
 * stored; rejects with an AppError otherwise, leaving storage untouched.
 */
export async function handleUpload(
  deps: UploadDeps,
  body: ReadableStream<Uint8Array> | null,
  boundary: string,
): Promise<UploadResultBody> {
  const start = performance.now();
  const collected: Collected = { fields: new Map() };
  let committed = false;
  try {
    if (!body) throw fieldError("file", "Missing required field: file");
    try {
      await collect(parseMultipart(limitStream(body, deps.maxBytes), boundary), deps.assets, collected);
    } catch (error) {
      if (isAppError(error)) throw error;
      // Not ours and not storage's (that is wrapped above): the client's body stream broke,
      // typically a client that went away mid-upload. A client error, not a server fault.
      throw new AppError("VALIDATION_FAILED", "Request body could not be read completely", {
        details: { field: "body" },
        cause: error,
      });
    }
    const { fields, file } = collected;

    const missing = REQUIRED.filter((f) => (f === "file" ? !file : !fields.has(f)));
    if (missing.length > 0) {
      throw fieldError(
        missing[0] as string,
        `Missing required field${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`,
      );
    }
    const upload = file as NonNullable<typeof file>;
    if (upload.problem) throw fieldError("filename", `Invalid filename: ${upload.problem}`);

    const timestampText = fields.get("timestamp") as string;
    const timestamp = parseTimestamp(timestampText);
    if (!timestamp) {
      throw fieldError("timestamp", "Invalid timestamp: expected ISO 8601, e.g. 2026-01-01T12:00:00Z");
    }
    const drift = driftSeconds(timestamp, deps.now());
    if (drift > deps.toleranceSeconds) {
      throw fieldError(
        "timestamp",
        `Invalid timestamp: more than ${deps.toleranceSeconds} seconds away from server time`,
      );
    }

    await verify(deps, timestampText, fields.get("signature") as string);

    let size: number;
    try {
      ({ size } = await (upload.staged as StagedWrite).commit());
    } catch (error) {
      throw new UploadStorageError(error);
    }
    committed = true;
    deps.observer.assetUpload("success", "none", secondsSince(start), size);
    return { filename: upload.filename, size, uploaded_at: timestamp.utcIso };
  } catch (error) {
    deps.observer.assetUpload("error", uploadErrorType(error), secondsSince(start));
    throw error;
  } finally {
    if (collected.file?.staged && !committed) await collected.file.staged.abort();
  }
}

async function verify(deps: UploadDeps, timestamp: string, signatureText: string): Promise<void> {
  const started = performance.now();
  const signature = decodeSignature(signatureText);
  if (!signature) {
    deps.observer.signatureVerified("invalid", secondsSince(started));
    throw fieldError("signature", "Invalid signature: not base64");
  }
  let valid: boolean;
  try {
    valid = await verifySignature(deps.verifyKey, timestamp, signature);
  } catch (error) {
    deps.observer.signatureVerified("error", secondsSince(started));
    throw new AppError("VALIDATION_FAILED", "Invalid signature: could not be verified", {
      details: { field: "signature" },
      cause: error,
    });
  }
  deps.observer.signatureVerified(valid ? "valid" : "invalid", secondsSince(started));
  if (!valid) throw fieldError("signature", "Invalid signature: does not match the timestamp");
}
