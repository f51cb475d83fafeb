/**
 * Loads --key: an RSA private key in PEM (PKCS#8 or PKCS#1). Each way it can be
 * unusable gets its own message, because "cannot sign" alone does not tell the
 * user whether they passed the wrong file, the public half, or an encrypted key.
 * A key file that other users can open is used, with a warning (secret-file.ts).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { localError, systemCode } from "./errors.js";
import { readSecretFile, type SecretFileChecks, type SecretKind, warnIfOpen } from "./secret-file.js";

/** How the key file's permissions are checked (see secret-file.ts). */
export type KeyFileChecks = SecretFileChecks;

const KEY: SecretKind = { noun: "the key", openNoun: "the private key", power: "sign uploads" };

/** Without `checks`, the file's permissions are not looked at (callers that made the key themselves). */
export async function loadSigningKey(path: string, checks?: KeyFileChecks): Promise<KeyObject> {
  const file = await readSecretFile(path, KEY);
  const pem = file.text;
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch (error) {
    throw notAPrivateKey(path, pem, error);
  }
  if (key.asymmetricKeyType !== "rsa") {
    throw localError(`the key ${path} is ${key.asymmetricKeyType ?? "not an asymmetric"} key; the server needs RSA`);
  }
  if (checks) warnIfOpen(path, file, KEY, checks);
  return key;
}

function notAPrivateKey(path: string, pem: string, error: unknown) {
  if (systemCode(error) === "ERR_MISSING_PASSPHRASE") {
    return localError(
      `the key ${path} is encrypted; decrypt it first, e.g. openssl pkey -in ${path} -out plain-key.pem`,
      error,
    );
  }
  if (isPublicKey(pem)) {
    return localError(
      `the key ${path} holds a public key or certificate; --key needs the private key that matches the server's`,
      error,
    );
  }
  return localError(
    `the key ${path} is not a PEM private key (expected BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)`,
    error,
  );
}

function isPublicKey(pem: string): boolean {
  try {
    createPublicKey({ key: pem, format: "pem" });
    return true;
  } catch {
    // Not a public key either: the caller reports the private-key failure instead.
    return false;
  }
}
