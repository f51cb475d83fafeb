/**
 * Upload signatures: which version a request uses, what it covers, verifying it, and
 * accepting each one once.
 *
 * - Version 1 (the original, the default): RSA PKCS#1 v1.5 SHA-256 over the timestamp.
 * - Version 2 (`signature_version=2`): over `timestamp \n filename \n sha256_hex(content)`,
 *   so a captured signature cannot carry another file or another name. `filename` is the
 *   name exactly as the client sent it (the stored name is its NFC form).
 * - One-time use: the SHA-256 of the decoded signature bytes is claimed through the
 *   storage driver (a create-only marker), so a replay is refused on every runtime and
 *   across processes sharing the storage. RSA PKCS#1 v1.5 signatures are deterministic, so
 *   two uploads signed over the same timestamp carry the same signature: each upload must
 *   sign a fresh timestamp.
 */
import { AppError, validationFailed } from "../../core/errors.js";
import type { OperationObserver } from "../../core/observer.js";
import { secondsSince } from "../../core/observer.js";
import { sha256Hex } from "../../core/storage.js";
import { decodeSignature, verifySignature } from "./signing-key.js";

export type SignatureVersion = 1 | 2;

const signatureError = (message: string) => validationFailed(message, { field: "signature" });

/** The version a request declares (none: 1), refused when unknown or older than `minVersion`. */
export function signatureVersion(declared: string | undefined, minVersion: SignatureVersion): SignatureVersion {
  const text = declared?.trim();
  if (text !== undefined && text !== "1" && text !== "2") {
    throw signatureError("Invalid signature_version: must be 1 or 2");
  }
  const version: SignatureVersion = text === "2" ? 2 : 1;
  if (version < minVersion) {
    throw signatureError(
      `Signature version ${version} is not accepted: this server requires version ${minVersion} ` +
        "(signature_version=2, signing timestamp, filename and the file's SHA-256)",
    );
  }
  return version;
}

/** The exact text a signature of this version covers. */
export function signedText(version: SignatureVersion, timestamp: string, filename: string, sha256: string): string {
  return version === 1 ? timestamp : `${timestamp}\n${filename}\n${sha256}`;
}

export interface VerifyDeps {
  verifyKey: CryptoKey;
  observer: OperationObserver;
}

/**
 * Decodes the base64 signature, refusing what no key could have made before any crypto
 * runs: text that is not base64, and bytes of another length than the key's modulus (an
 * RSA PKCS#1 v1.5 signature is exactly that long).
 */
export function decodedSignature(deps: VerifyDeps, text: string): Uint8Array {
  const signature = decodeSignature(text);
  if (!signature) {
    deps.observer.signatureVerified("invalid", 0);
    throw signatureError("Invalid signature: not base64");
  }
  const bytes = Math.ceil((deps.verifyKey.algorithm as RsaHashedKeyAlgorithm).modulusLength / 8);
  if (signature.length !== bytes) {
    deps.observer.signatureVerified("invalid", 0);
    throw signatureError(
      `Invalid signature: ${signature.length} bytes, but a signature by this server's key has ${bytes} bytes`,
    );
  }
  return signature;
}

/** Verifies, counting the outcome; throws VALIDATION_FAILED (field signature) when it does not match. */
export async function verifyUploadSignature(
  deps: VerifyDeps,
  version: SignatureVersion,
  message: string,
  signature: Uint8Array,
): Promise<void> {
  const started = performance.now();
  let valid: boolean;
  try {
    valid = await verifySignature(deps.verifyKey, message, signature);
  } catch (error) {
    deps.observer.signatureVerified("error", secondsSince(started));
    throw new AppError("VALIDATION_FAILED", "Invalid signature: could not be verified", {
      details: { field: "signature" },
      cause: error,
    });
  }
  deps.observer.signatureVerified(valid ? "valid" : "invalid", secondsSince(started));
  if (!valid) {
    throw signatureError(
      version === 1
        ? "Invalid signature: does not match the timestamp (signature version 1; a version 2 upload must send signature_version before the file)"
        : "Invalid signature: does not match the timestamp, filename and file content (signature version 2)",
    );
  }
}

/** The one-time marker's key: a hash of the signature bytes, so every encoding of one signature is one key. */
export const signatureKey = (signature: Uint8Array): Promise<string> => sha256Hex(signature);

export const signatureReused = () =>
  signatureError(
    "Invalid signature: this signature was already used for an upload. Sign a fresh timestamp for each upload " +
      "(two uploads signed within the same second with a second-resolution timestamp carry the same signature)",
  );
