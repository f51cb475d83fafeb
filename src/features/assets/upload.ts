/**
 * The asset upload pipeline, apart from HTTP: read a multipart stream, spool the file
 * part into a staged write (hashed as it streams), then validate in the contract's order (fields
 * present, filename, timestamp, signature), claim the signature once, and commit only
 * when everything passed. Whatever the order of the parts, a rejected upload leaves
 * nothing behind. When the fields come before the file, everything that can be checked
 * without the file's bytes (a version 1 signature included) is checked before a byte of
 * it is written, so a bad request is answered at once.
 */

import { AppError, isAppError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { errorFields } from "../../core/logger.js";
import { filenameProblem, normaliseFilename } from "../../core/names.js";
import type { OperationObserver, UploadErrorType } from "../../core/observer.js";
import { secondsSince } from "../../core/observer.js";
import type { StagedWrite } from "../../core/storage.js";
import { discardRest, guardBody } from "../request-limits/body-guard.js";
import type { Slot } from "../request-limits/body-slots.js";
import { drain, type Part, parseMultipart, readTextPart } from "./multipart.js";
import type { AssetStore } from "./store.js";
import { type Collected, checkAll, checkBeforeFile, fieldError, UploadStorageError } from "./upload-checks.js";
import type { SignatureVersion } from "./upload-signature.js";

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
  /** The least rate an upload must keep until its signature is verified (0: no minimum); see body-guard.ts. */
  minBytesPerSecond: number;
  minVersion: SignatureVersion;
  /** The original's behaviour: a signature may be used again while its timestamp is valid. */
  allowReuse: boolean;
  /** When to read what is left of a refused body (see AppDeps.refusedBodies). */
  refusedBodies: "background" | "before-answer";
  now: () => number;
}

const MAX_FIELD_BYTES = 4096;
const TEXT_FIELDS = new Set(["timestamp", "signature", "signature_version"]);

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

/** Reads every part into `collected`, which the caller owns so it can abort a staged file on any failure. */
async function collect(
  parts: AsyncIterable<Part>,
  deps: UploadDeps,
  collected: Collected,
  slot: Slot | undefined,
): Promise<void> {
  for await (const part of parts) {
    if (part.name === "file" && part.filename !== undefined) {
      if (collected.file) throw fieldError("file", "Only one file may be uploaded per request");
      // Proven by a verified signature: the rest may come at whatever pace the link allows.
      if (await checkBeforeFile(deps, collected, part.filename)) slot?.prove();
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
      collected.arrived.set(part.name, deps.now());
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
  /** The slot this upload holds (routes/assets.ts), proven once the signature is verified. */
  slot?: Slot,
): Promise<UploadResult> {
  const start = performance.now();
  const collected: Collected = { fields: new Map(), arrived: new Map() };
  let committed = false;
  let guarded: ReadableStream<Uint8Array> | undefined;
  try {
    if (!body) throw fieldError("file", "Missing required field: file");
    try {
      guarded = guardBody(body, {
        maxBytes: deps.maxBytes,
        idleMs: deps.idleMs,
        minRate: { bytesPerSecond: deps.minBytesPerSecond, exempt: () => slot?.proven === true },
      });
      await collect(parseMultipart(guarded, boundary), deps, collected, slot);
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
    if (collected.claimed && !committed) await release(deps, collected.claimed.key, collected.claimed.version);
  }
}

/**
 * A failed version 2 upload gives its signature back, so the client may retry the same
 * signed request: that signature is bound to this name and content, so nothing else can
 * be sent with it. A version 1 signature covers only its timestamp: released, a captured
 * one could carry any other file under any other name, so it stays used whatever happened.
 */
async function release(deps: UploadDeps, key: string, version: SignatureVersion): Promise<void> {
  if (version === 1) return;
  try {
    await deps.assets.releaseSignature(key);
  } catch (error) {
    // The upload's own error is what the client must see; this one only burns the signature.
    deps.logger.warn("could not release a signature marker; that signature cannot be used again", errorFields(error));
  }
}
