/**
 * The asset upload pipeline, apart from HTTP: read a multipart stream, spool the file
 * part into a staged write (hashed as it streams), then validate in the contract's order (fields
 * present, filename, timestamp, signature), claim the signature once, and commit only
 * when everything passed. Whatever the order of the parts, a rejected upload leaves
 * nothing behind. When the fields come before the file, everything that can be checked
 * without the file's bytes (a version 1 signature included) is checked before a byte of
 * it is written, so a bad request is answered at once.
 */
import { discardRest, guardBody } from "./body-guard.js";
import { AppError, isAppError, validationFailed } from "./errors.js";
import type { Logger } from "./logger.js";
import { errorFields } from "./logger.js";
import { drain, type Part, parseMultipart, readTextPart } from "./multipart.js";
import { filenameProblem, normaliseFilename } from "./names.js";
import type { OperationObserver, UploadErrorType } from "./observer.js";
import { secondsSince } from "./observer.js";
import { signatureRetainSeconds } from "./signature-retention.js";
import type { AssetStore, StagedWrite } from "./storage.js";
import { driftSeconds, type ParsedTimestamp, parseTimestamp } from "./timestamp.js";
import {
  decodedSignature,
  type SignatureVersion,
  signatureKey,
  signatureReused,
  signatureVersion,
  signedText,
  verifyUploadSignature,
} from "./upload-signature.js";

export interface UploadResultBody {
  filename: string;
  size: number;
  uploaded_at: string;
}

export interface UploadResult {
  body: UploadResultBody;
  /** The stored bytes' SHA-256, for the notification's metadata. */
  sha256: string;
}

export interface UploadDeps {
  assets: AssetStore;
  observer: OperationObserver;
  logger: Logger;
  verifyKey: CryptoKey;
  toleranceSeconds: number;
  maxBytes: number;
  /** An upload that sends nothing for this long is cut (408) and discarded. */
  idleMs: number;
  minVersion: SignatureVersion;
  /** The original's behaviour: a signature may be used again while its timestamp is valid. */
  allowReuse: boolean;
  /** When to read what is left of a refused body (see AppDeps.refusedBodies). */
  refusedBodies: "background" | "before-answer";
  now: () => number;
}

const MAX_FIELD_BYTES = 4096;
const REQUIRED = ["file", "timestamp", "signature"] as const;
const TEXT_FIELDS = new Set(["timestamp", "signature", "signature_version"]);

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

interface Collected {
  fields: Map<string, string>;
  file?: { filename: string; problem?: string; staged?: StagedWrite; size: number };
  /** The signature version already verified (and claimed) before the file arrived. */
  verifiedEarly?: SignatureVersion;
  /** The one-time marker this upload holds; released unless the upload is committed. */
  claimedKey?: string;
}

function missingFields(collected: Collected): void {
  const missing = REQUIRED.filter((f) => (f === "file" ? !collected.file : !collected.fields.has(f)));
  if (missing.length > 0) {
    throw fieldError(
      missing[0] as string,
      `Missing required field${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`,
    );
  }
}

function checkedTimestamp(deps: UploadDeps, text: string): ParsedTimestamp {
  const timestamp = parseTimestamp(text);
  if (!timestamp) throw fieldError("timestamp", "Invalid timestamp: expected ISO 8601, e.g. 2026-01-01T12:00:00Z");
  if (driftSeconds(timestamp, deps.now()) > deps.toleranceSeconds) {
    throw fieldError(
      "timestamp",
      `Invalid timestamp: more than ${deps.toleranceSeconds} seconds away from server time`,
    );
  }
  return timestamp;
}

/** Accepts the signature once: a second upload with it is refused, here or on any server sharing the storage. */
async function claim(deps: UploadDeps, collected: Collected, signature: Uint8Array): Promise<void> {
  if (deps.allowReuse || collected.claimedKey) return;
  const key = await signatureKey(signature);
  let claimed: boolean;
  try {
    claimed = await deps.assets.claimSignature(key, signatureRetainSeconds(deps.toleranceSeconds));
  } catch (error) {
    throw new UploadStorageError(error);
  }
  if (!claimed) throw signatureReused();
  collected.claimedKey = key;
}

/**
 * The fields came before the file: check, in the contract's order, all that needs no file bytes,
 * so a bad request is refused before anything is written. Version 2 still needs the
 * content's hash, which only the end of the file gives.
 */
async function checkBeforeFile(deps: UploadDeps, collected: Collected, filename: string): Promise<void> {
  const problem = filenameProblem(filename);
  if (problem) throw fieldError("filename", `Invalid filename: ${problem}`);
  const timestamp = collected.fields.get("timestamp") as string;
  checkedTimestamp(deps, timestamp);
  const version = signatureVersion(collected.fields.get("signature_version"), deps.minVersion);
  const signature = decodedSignature(deps, collected.fields.get("signature") as string);
  if (version !== 1) return;
  await verifyUploadSignature(deps, 1, timestamp, signature);
  await claim(deps, collected, signature);
  collected.verifiedEarly = 1;
}

/** Reads every part into `collected`, which the caller owns so it can abort a staged file on any failure. */
async function collect(parts: AsyncIterable<Part>, deps: UploadDeps, collected: Collected): Promise<void> {
  for await (const part of parts) {
    if (part.name === "file" && part.filename !== undefined) {
      if (collected.file) throw fieldError("file", "Only one file may be uploaded per request");
      if (collected.fields.has("timestamp") && collected.fields.has("signature")) {
        await checkBeforeFile(deps, collected, part.filename);
      }
      const problem = filenameProblem(part.filename);
      const file: NonNullable<Collected["file"]> = { filename: part.filename, problem, size: 0 };
      collected.file = file;
      if (problem) {
        // Never touch storage with a name we are going to refuse.
        await drain(part);
        continue;
      }
      try {
        file.staged = await deps.assets.stage(part.filename);
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
    } else if (TEXT_FIELDS.has(part.name) && part.filename === undefined) {
      if (collected.fields.has(part.name)) throw fieldError(part.name, `Field ${part.name} was sent more than once`);
      collected.fields.set(part.name, await readTextPart(part, MAX_FIELD_BYTES));
    } else {
      await drain(part);
    }
  }
}

/** Every check, in the contract's order, once all parts are in; returns the parsed timestamp. */
async function checkAll(deps: UploadDeps, collected: Collected): Promise<ParsedTimestamp> {
  missingFields(collected);
  const upload = collected.file as NonNullable<Collected["file"]>;
  if (upload.problem) throw fieldError("filename", `Invalid filename: ${upload.problem}`);
  const timestampText = collected.fields.get("timestamp") as string;
  const timestamp = checkedTimestamp(deps, timestampText);
  const version = signatureVersion(collected.fields.get("signature_version"), deps.minVersion);
  const signature = decodedSignature(deps, collected.fields.get("signature") as string);
  if (collected.verifiedEarly !== version) {
    let sha256 = "";
    if (version === 2) {
      try {
        sha256 = await (upload.staged as StagedWrite).digest();
      } catch (error) {
        throw new UploadStorageError(error);
      }
    }
    await verifyUploadSignature(deps, version, signedText(version, timestampText, upload.filename, sha256), signature);
  }
  await claim(deps, collected, signature);
  return timestamp;
}

/**
 * Runs one upload. Resolves with the response body once the asset is durably
 * stored; rejects with an AppError otherwise, leaving storage untouched.
 */
export async function handleUpload(
  deps: UploadDeps,
  body: ReadableStream<Uint8Array> | null,
  boundary: string,
): Promise<UploadResult> {
  const start = performance.now();
  const collected: Collected = { fields: new Map() };
  let committed = false;
  let guarded: ReadableStream<Uint8Array> | undefined;
  try {
    if (!body) throw fieldError("file", "Missing required field: file");
    try {
      guarded = guardBody(body, { maxBytes: deps.maxBytes, idleMs: deps.idleMs });
      await collect(parseMultipart(guarded, boundary), deps, collected);
    } catch (error) {
      if (isAppError(error)) throw error;
      // Not ours and not storage's (that is wrapped above): the client's body stream broke,
      // typically a client that went away mid-upload. A client error, not a server fault.
      throw new AppError("VALIDATION_FAILED", "Request body could not be read completely", {
        details: { field: "body" },
        cause: error,
      });
    }
    const timestamp = await checkAll(deps, collected);
    const upload = collected.file as NonNullable<Collected["file"]>;
    let size: number;
    let sha256: string;
    try {
      // Hashed as it streamed: digest() costs nothing more, whatever the version.
      sha256 = await (upload.staged as StagedWrite).digest();
      ({ size } = await (upload.staged as StagedWrite).commit());
    } catch (error) {
      throw new UploadStorageError(error);
    }
    committed = true;
    deps.observer.assetUpload("success", "none", secondsSince(start), size);
    return { body: { filename: normaliseFilename(upload.filename), size, uploaded_at: timestamp.utcIso }, sha256 };
  } catch (error) {
    deps.observer.assetUpload("error", uploadErrorType(error), secondsSince(start));
    // Refused before the whole body arrived (an early signature check, a full disk): the
    // rest is read and dropped, so the answer reaches the client and its connection stays usable.
    if (guarded) {
      const discarded = discardRest(guarded);
      if (deps.refusedBodies === "before-answer") await discarded;
    }
    throw error;
  } finally {
    if (collected.file?.staged && !committed) await collected.file.staged.abort();
    if (collected.claimedKey && !committed) await release(deps, collected.claimedKey);
  }
}

/** A failed upload gives its signature back, so the client may retry the same signed request. */
async function release(deps: UploadDeps, key: string): Promise<void> {
  try {
    await deps.assets.releaseSignature(key);
  } catch (error) {
    // The upload's own error is what the client must see; this one only burns the signature.
    deps.logger.warn("could not release a signature marker; that signature cannot be used again", errorFields(error));
  }
}
