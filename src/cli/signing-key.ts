/**
 * Loads --key: an RSA private key in PEM (PKCS#8 or PKCS#1). Each way it can be
 * unusable gets its own message, because "cannot sign" alone does not tell the
 * user whether they passed the wrong file, the public half, or an encrypted key.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { describeFsError, localError, systemCode } from "./errors.js";

export async function loadSigningKey(path: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(path, "utf8");
  } catch (error) {
    throw localError(`cannot read the key ${path}: ${describeFsError(error)}`, error);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch (error) {
    throw notAPrivateKey(path, pem, error);
  }
  if (key.asymmetricKeyType !== "rsa") {
    throw localError(`the key ${path} is ${key.asymmetricKeyType ?? "not an asymmetric"} key; the server needs RSA`);
  }
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
