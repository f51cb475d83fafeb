/**
 * The checks of an upload, in the contract's order (fields present, filename, timestamp,
 * signature), split in two: what can be judged when the file part begins, from the fields
 * that came before it, and everything once all parts are in.
 *
 * The timestamp is judged against the moment it arrived, not the moment the upload ends:
 * it proves when the upload was signed, so a slow upload that was fresh when it began is
 * not refused at its end for having taken longer than the tolerance.
 */
import { AppError, isAppError, validationFailed } from "../../core/errors.js";
import { filenameProblem } from "../../core/names.js";
import { signatureRetainSeconds } from "../../core/signature-retention.js";
import type { StagedWrite } from "../../core/storage.js";
import { driftSeconds, type ParsedTimestamp, parseTimestamp } from "./timestamp.js";
import type { UploadDeps } from "./upload.js";
import {
  decodedSignature,
  type SignatureVersion,
  signatureKey,
  signatureReused,
  signatureVersion,
  signedText,
  verifyUploadSignature,
} from "./upload-signature.js";

const REQUIRED = ["file", "timestamp", "signature"] as const;

export interface Collected {
  fields: Map<string, string>;
  /** When each text field arrived (deps.now()). */
  arrived: Map<string, number>;
  file?: { filename: string; problem?: string; staged?: StagedWrite; size: number };
  /** The signature version already verified (and claimed) before the file arrived. */
  verifiedEarly?: SignatureVersion;
  /** The one-time marker this upload holds, and the version of the signature it stands for. */
  claimed?: { key: string; version: SignatureVersion };
}

/** A storage failure during an upload, kept apart so metrics can say "filesystem". */
export class UploadStorageError extends AppError {
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

export const fieldError = (field: string, message: string) => validationFailed(message, { field });

function missingFields(collected: Collected): void {
  const missing = REQUIRED.filter((f) => (f === "file" ? !collected.file : !collected.fields.has(f)));
  if (missing.length > 0) {
    throw fieldError(
      missing[0] as string,
      `Missing required field${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`,
    );
  }
}

function checkedTimestamp(deps: UploadDeps, collected: Collected): ParsedTimestamp {
  const timestamp = parseTimestamp(collected.fields.get("timestamp") as string);
  if (!timestamp) throw fieldError("timestamp", "Invalid timestamp: expected ISO 8601, e.g. 2026-01-01T12:00:00Z");
  const at = collected.arrived.get("timestamp") ?? deps.now();
  if (driftSeconds(timestamp, at) > deps.toleranceSeconds) {
    throw fieldError(
      "timestamp",
      `Invalid timestamp: more than ${deps.toleranceSeconds} seconds away from server time`,
    );
  }
  return timestamp;
}

/** Accepts the signature once: a second upload with it is refused, here or on any server sharing the storage. */
async function claim(
  deps: UploadDeps,
  collected: Collected,
  signature: Uint8Array,
  version: SignatureVersion,
): Promise<void> {
  if (deps.allowReuse || collected.claimed) return;
  const key = await signatureKey(signature);
  let claimed: boolean;
  try {
    claimed = await deps.assets.claimSignature(key, signatureRetainSeconds(deps.toleranceSeconds));
  } catch (error) {
    throw new UploadStorageError(error);
  }
  if (!claimed) throw signatureReused();
  collected.claimed = { key, version };
}

/**
 * The file part begins: when both fields came before it, the answer is already known
 * whatever follows (the contract checks fields present, filename, timestamp, signature in
 * that order), so a request that is going to be refused is refused before a byte of its
 * file is staged, a signature no key could have made included. With a field still to
 * come, nothing is judged yet: a missing field would be the answer, and it may still come.
 * Version 1 is verified here; version 2 needs the content's hash, which only the end
 * gives. Returns true when the signature was verified (the sender is proven).
 */
export async function checkBeforeFile(deps: UploadDeps, collected: Collected, filename: string): Promise<boolean> {
  const text = collected.fields.get("signature");
  if (!collected.fields.has("timestamp") || text === undefined) return false;
  const problem = filenameProblem(filename);
  if (problem) throw fieldError("filename", `Invalid filename: ${problem}`);
  checkedTimestamp(deps, collected);
  const version = signatureVersion(collected.fields.get("signature_version"), deps.minVersion);
  const signature = decodedSignature(deps, text);
  if (version !== 1) return false;
  await verifyUploadSignature(deps, 1, collected.fields.get("timestamp") as string, signature);
  await claim(deps, collected, signature, 1);
  collected.verifiedEarly = 1;
  return true;
}

/** Every check, in the contract's order, once all parts are in; returns the parsed timestamp. */
export async function checkAll(deps: UploadDeps, collected: Collected): Promise<ParsedTimestamp> {
  missingFields(collected);
  const upload = collected.file as NonNullable<Collected["file"]>;
  if (upload.problem) throw fieldError("filename", `Invalid filename: ${upload.problem}`);
  const timestamp = checkedTimestamp(deps, collected);
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
    const message = signedText(version, collected.fields.get("timestamp") as string, upload.filename, sha256);
    await verifyUploadSignature(deps, version, message, signature);
  }
  await claim(deps, collected, signature, version);
  return timestamp;
}
