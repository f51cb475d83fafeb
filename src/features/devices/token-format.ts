/**
 * What a device token is: 32 random bytes (256 bits, far past the contract's 128) in
 * base64url behind a short prefix, so a leaked one is recognisable in a scan of logs or
 * repositories. The server keeps only its SHA-256; checking one costs a hash, no I/O.
 */
import { createHash } from "node:crypto";

const PREFIX = "iotd_";
const TOKEN_BYTES = 32;

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

export function newDeviceToken(): string {
  return `${PREFIX}${base64url(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)))}`;
}

/** SHA-256 (lower-case hex) of a presented token: synchronous, so the fast path can check it. */
export const deviceTokenHash = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex");
