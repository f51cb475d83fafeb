/**
 * Loads --key: an RSA private key in PEM (PKCS#8 or PKCS#1). Each way it can be
 * unusable gets its own message, because "cannot sign" alone does not tell the
 * user whether they passed the wrong file, the public half, or an encrypted key.
 * A key file that other users can open is used, with a warning (as ssh warns, but
 * without refusing: build scripts that worked must keep working).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { open } from "node:fs/promises";
import { describeFsError, localError, systemCode } from "./errors.js";

export interface KeyFileChecks {
  /** Permission bits mean something only on POSIX systems; on Windows nothing is checked. */
  platform: NodeJS.Platform;
  /** Told once, in words, when the key file is open to its group or to everyone. */
  warn: (message: string) => void;
}

interface KeyFile {
  pem: string;
  /** Permission bits of a regular file; undefined for a pipe or device (e.g. --key <(...)). */
  mode?: number;
}

/** Without `checks`, the file's permissions are not looked at (callers that made the key themselves). */
export async function loadSigningKey(path: string, checks?: KeyFileChecks): Promise<KeyObject> {
  const { pem, mode } = await readKeyFile(path);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch (error) {
    throw notAPrivateKey(path, pem, error);
  }
  if (key.asymmetricKeyType !== "rsa") {
    throw localError(`the key ${path} is ${key.asymmetricKeyType ?? "not an asymmetric"} key; the server needs RSA`);
  }
  if (checks && checks.platform !== "win32" && mode !== undefined && (mode & 0o077) !== 0) {
    checks.warn(tooOpen(path, mode));
  }
  return key;
}

/** The text and the permissions of one open file, so both describe the same file. */
async function readKeyFile(path: string): Promise<KeyFile> {
  try {
    const handle = await open(path, "r");
    try {
      const info = await handle.stat();
      const pem = await handle.readFile("utf8");
      return { pem, mode: info.isFile() ? info.mode & 0o777 : undefined };
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw localError(`cannot read the key ${path}: ${describeFsError(error)}`, error);
  }
}

/** Like ssh's "UNPROTECTED PRIVATE KEY FILE", with the command that fixes it. */
function tooOpen(path: string, mode: number): string {
  const who = mode & 0o007 ? "every user of this machine" : "its group";
  const octal = mode.toString(8).padStart(4, "0");
  return `the private key ${path} is open to ${who} (permissions ${octal}); whoever can read it can sign uploads. Restrict it: chmod 600 ${path}`;
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
