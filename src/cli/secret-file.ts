/**
 * A file holding a secret (a private key, an admin token), read once with the permissions
 * of the very file read. One that other users can open is used, with a warning (as ssh
 * warns, but without refusing: scripts that worked must keep working).
 */
import { open } from "node:fs/promises";
import { describeFsError, localError } from "./errors.js";

export interface SecretFileChecks {
  /** Permission bits mean something only on POSIX systems; on Windows nothing is checked. */
  platform: NodeJS.Platform;
  /** Told once, in words, when the file is open to its group or to everyone. */
  warn: (message: string) => void;
}

export interface SecretFile {
  text: string;
  /** Permission bits of a regular file; undefined for a pipe or device (e.g. <(...)). */
  mode?: number;
}

/** What the secret is and what whoever reads it can do, for the messages. */
export interface SecretKind {
  /** e.g. "the key", for "cannot read the key KEY.pem: ...". */
  noun: string;
  /** e.g. "the private key", for "the private key KEY.pem is open to ...". */
  openNoun: string;
  /** e.g. "sign uploads", for "whoever can read it can sign uploads". */
  power: string;
}

/** The text and the permissions of one open file, so both describe the same file. */
export async function readSecretFile(path: string, kind: SecretKind): Promise<SecretFile> {
  try {
    const handle = await open(path, "r");
    try {
      const info = await handle.stat();
      const text = await handle.readFile("utf8");
      return { text, mode: info.isFile() ? info.mode & 0o777 : undefined };
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw localError(`cannot read ${kind.noun} ${path}: ${describeFsError(error)}`, error);
  }
}

/**
 * Warns when the file read is open to its group or to everyone. Called once the secret proved
 * usable, so a file that fails anyway gets its one error and no warning besides.
 */
export function warnIfOpen(path: string, file: SecretFile, kind: SecretKind, checks: SecretFileChecks): void {
  if (checks.platform !== "win32" && file.mode !== undefined && (file.mode & 0o077) !== 0) {
    checks.warn(tooOpen(path, file.mode, kind));
  }
}

/** Like ssh's "UNPROTECTED PRIVATE KEY FILE", with the command that fixes it. */
function tooOpen(path: string, mode: number, kind: SecretKind): string {
  const who = mode & 0o007 ? "every user of this machine" : "its group";
  const octal = mode.toString(8).padStart(4, "0");
  return `${kind.openNoun} ${path} is open to ${who} (permissions ${octal}); whoever can read it can ${kind.power}. Restrict it: chmod 600 ${path}`;
}
