/**
 * Small filesystem helpers of the filesystem driver: errno classification, directory
 * checks and fsync, the temporary-file sweep, and streams over open files.
 */
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { access, type FileHandle, open, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../core/logger.js";
import { type Area, storageFull } from "../../core/storage.js";

export const TEMP_PREFIX = ".iotsupport-";
const TEMP_SUFFIX = ".tmp";
export const isTempName = (name: string) => name.startsWith(TEMP_PREFIX) && name.endsWith(TEMP_SUFFIX);
const READ_CHUNK = 64 * 1024;

export const errno = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null ? ((error as { code?: string }).code ?? undefined) : undefined;

/** A write that failed because the volume (or the user's quota) is full: 507, never 500. */
export function throwIfDiskFull(error: unknown): void {
  const code = errno(error);
  if (code === "ENOSPC" || code === "EDQUOT") throw storageFull(error);
}

/** Why the area's directory is unusable, in words that name the area but not the server path. */
export async function directoryProblem(dir: string, area: Area | "state"): Promise<string | undefined> {
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) return `${area} directory is not a directory`;
    await access(dir, constants.W_OK | constants.R_OK);
    return undefined;
  } catch (error) {
    if (errno(error) === "ENOENT" || errno(error) === "ENOTDIR") return `${area} directory is missing`;
    if (errno(error) === "EACCES" || errno(error) === "EPERM") return `${area} directory is not accessible`;
    return `${area} directory cannot be checked (${errno(error) ?? "unknown error"})`;
  }
}

/** Flushes a directory entry to disk. Some platforms cannot fsync a directory; that is logged, not fatal. */
export async function syncDirectory(dir: string, logger: Logger): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (error) {
    const code = errno(error);
    if (code !== "EISDIR" && code !== "EINVAL" && code !== "EPERM" && code !== "EBADF") throw error;
    logger.debug("directory fsync not supported here", { errCode: code });
  } finally {
    await handle?.close();
  }
}

export async function sweepTemporaryFiles(dir: string, area: Area, logger: Logger): Promise<void> {
  const names = (await readdir(dir)).filter(isTempName);
  for (const name of names) await unlink(join(dir, name));
  if (names.length > 0)
    logger.info("removed temporary files left by an interrupted write", { area, count: names.length });
}

export function bytesStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      if (bytes.length > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

/** SHA-256 of a whole open file, read by position (the handle stays usable for streaming). */
export async function hashFile(handle: FileHandle, size: number): Promise<string> {
  const hash = createHash("sha256");
  const buffer = new Uint8Array(Math.min(READ_CHUNK * 16, Math.max(size, 1)));
  let position = 0;
  while (position < size) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - position), position);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hash.digest("hex");
}

/** Streams bytes [start, end) of a file in fixed-size chunks; closes the handle when done or cancelled. */
export function fileStream(handle: FileHandle, start: number, end: number): ReadableStream<Uint8Array> {
  let position = start;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const want = Math.min(READ_CHUNK, end - position);
        if (want <= 0) {
          await close();
          controller.close();
          return;
        }
        const buffer = new Uint8Array(want);
        const { bytesRead } = await handle.read(buffer, 0, want, position);
        if (bytesRead === 0) {
          await close();
          controller.close();
          return;
        }
        position += bytesRead;
        controller.enqueue(bytesRead === want ? buffer : buffer.subarray(0, bytesRead));
      } catch (error) {
        await close();
        controller.error(error);
      }
    },
    cancel: close,
  });
}
