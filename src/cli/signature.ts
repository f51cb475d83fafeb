/**
 * What the server verifies: version 1 signs the timestamp alone; version 2 binds
 * the signature to this exact file and name, so it cannot be replayed with
 * another payload. RSA PKCS#1 v1.5 with SHA-256 (node:crypto's default for RSA).
 */
import { type KeyObject, sign } from "node:crypto";

export type SignatureVersion = 1 | 2;

export interface Signed {
  timestamp: string;
  filename: string;
  /** Lower-case hex SHA-256 of the file bytes. */
  sha256: string;
}

export function signedMessage(version: SignatureVersion, { timestamp, filename, sha256 }: Signed): string {
  return version === 1 ? timestamp : `${timestamp}\n${filename}\n${sha256}`;
}

/** Base64 of the signature over the message's UTF-8 bytes. */
export function signUpload(key: KeyObject, version: SignatureVersion, signed: Signed): string {
  return sign("sha256", Buffer.from(signedMessage(version, signed), "utf8"), key).toString("base64");
}
