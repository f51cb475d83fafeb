/**
 * Opens a stored file for reading the only way a read may: a regular file directly
 * inside its directory. The data directories are shared with whoever else can write
 * there, so what is found in them is not trusted:
 * - O_NOFOLLOW: a symlink is never followed blindly. One that resolves to a regular file
 *   directly in the same directory (`latest.bin -> fw-1.2.bin`) is allowed; any other
 *   (`key.bin -> ../dev-signing-key.pem`, `/etc/passwd`, a dangling or looping link) is
 *   treated as absent.
 * - O_NONBLOCK: opening a FIFO returns at once instead of blocking one of libuv's four
 *   file-system threads until a writer appears (a few FIFOs froze every storage call).
 * - The type is decided by fstat on the handle itself (no stat-then-open race): only a
 *   regular file is read; a FIFO, socket, device or directory is absent.
 */
import { type BigIntStats, constants } from "node:fs";
import { type FileHandle, lstat, open, realpath } from "node:fs/promises";
import { dirname, join } from "node:path";
import { storageUnavailable } from "../../core/storage.js";
import { errno } from "./fs-util.js";

const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export interface OpenedFile {
  handle: FileHandle;
  info: BigIntStats;
}

/**
 * Tries again when the name was swapped between opening it and checking it (an atomic
 * replace). A reader and a writer looping at the same pace through the same file-system
 * threads can lose every round in lockstep, so each retry first waits a random, growing
 * moment (up to ~0.5 s in all) to fall out of step. One that still loses them all is
 * reported as busy (503), never as absent: it exists.
 */
const ATTEMPTS = 10;
const backOff = (attempt: number) => new Promise((done) => setTimeout(done, Math.random() * 2 ** attempt));

/** The open regular file, or null when there is none the reader may see. ENOENT passes through. */
export async function openRegularFile(dir: string, name: string): Promise<OpenedFile | null> {
  const path = join(dir, name);
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    let handle: FileHandle;
    try {
      handle = await open(path, FLAGS);
    } catch (error) {
      const code = errno(error);
      if (code === "ELOOP") return openLinkWithinDirectory(dir, path);
      // ENXIO: a Unix socket. EACCES: someone else's file we may not read; treated as absent too.
      if (code === "ENXIO" || code === "EACCES") return null;
      throw error;
    }
    const opened = await regularOnly(handle);
    if (!opened) return null;
    // Not every runtime honours O_NOFOLLOW: Deno with scoped --allow-read resolves links
    // itself before opening. So the name is checked again without following it: it must
    // be the very file we hold, not a link.
    const seen = await lstat(path, { bigint: true }).catch((error: unknown) => {
      if (errno(error) === "ENOENT") return undefined;
      throw error;
    });
    if (seen?.isSymbolicLink()) {
      await opened.handle.close();
      return openLinkWithinDirectory(dir, path);
    }
    if (seen && seen.ino === opened.info.ino && seen.dev === opened.info.dev) return opened;
    await opened.handle.close();
    // Removed since it was opened: absent now.
    if (!seen) return null;
    if (attempt < ATTEMPTS) await backOff(attempt);
  }
  throw storageUnavailable(`${name} was replaced ${ATTEMPTS} times while being opened; try again`);
}

async function openLinkWithinDirectory(dir: string, path: string): Promise<OpenedFile | null> {
  let target: string;
  let home: string;
  try {
    [target, home] = await Promise.all([realpath(path), realpath(dir)]);
  } catch (error) {
    // A dangling or looping link.
    if (["ENOENT", "ELOOP", "ENOTDIR"].includes(errno(error) ?? "")) return null;
    throw error;
  }
  if (dirname(target) !== home) return null;
  let handle: FileHandle;
  try {
    // O_NOFOLLOW again: if the target was swapped for a link since realpath, this refuses it.
    handle = await open(target, FLAGS);
  } catch (error) {
    if (["ENOENT", "ELOOP", "ENXIO", "EACCES"].includes(errno(error) ?? "")) return null;
    throw error;
  }
  const opened = await regularOnly(handle);
  if (!opened) return null;
  // As above, for runtimes that follow links whatever the flags: the target must not be one.
  const seen = await lstat(target, { bigint: true }).catch((error: unknown) => {
    // Gone since it was opened: replaced or removed, so not the file we hold.
    if (errno(error) === "ENOENT") return undefined;
    throw error;
  });
  if (seen && !seen.isSymbolicLink() && seen.ino === opened.info.ino && seen.dev === opened.info.dev) return opened;
  await opened.handle.close();
  return null;
}

async function regularOnly(handle: FileHandle): Promise<OpenedFile | null> {
  try {
    const info = await handle.stat({ bigint: true });
    if (info.isFile()) return { handle, info };
  } catch (error) {
    await handle.close();
    throw error;
  }
  await handle.close();
  return null;
}
