/**
 * The file being uploaded, opened once: its size and SHA-256 (hashed by streaming,
 * since version 2 signs the hash before the first byte is sent), and a way to read
 * it again from the start for each attempt, in chunks, never all at once.
 */
import { createHash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { describeFsError, localError } from "./errors.js";

/** Big enough to keep syscalls few, small enough that memory stays flat. */
export const CHUNK_BYTES = 64 * 1024;

export interface FileSource {
  path: string;
  size: number;
  sha256: string;
  /** The file's bytes from the start; fails if the file changed since it was hashed. */
  chunks(): AsyncGenerator<Uint8Array>;
  close(): Promise<void>;
}

export async function openFileSource(path: string): Promise<FileSource> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw localError(`cannot read ${path}: ${describeFsError(error)}`, error);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw localError(`cannot upload ${path}: it is not a regular file`);
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of readChunks(handle, path)) {
      hash.update(chunk);
      size += chunk.byteLength;
    }
    const sha256 = hash.digest("hex");
    return {
      path,
      size,
      sha256,
      async *chunks() {
        // Hashed again on the way out: a file rewritten between hashing and sending
        // would otherwise be refused by the server as a bad signature, with no clue why.
        const again = createHash("sha256");
        let sent = 0;
        for await (const chunk of readChunks(handle, path)) {
          sent += chunk.byteLength;
          if (sent > size) break;
          again.update(chunk);
          yield chunk;
        }
        if (sent !== size || again.digest("hex") !== sha256) {
          throw localError(`${path} changed while it was being uploaded; upload it again once it is complete`);
        }
      },
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function* readChunks(handle: FileHandle, path: string): AsyncGenerator<Uint8Array> {
  for (let position = 0; ; ) {
    // A fresh buffer per chunk: fetch may still hold the previous one when we read the next.
    const buffer = new Uint8Array(CHUNK_BYTES);
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, position));
    } catch (error) {
      throw localError(`cannot read ${path}: ${describeFsError(error)}`, error);
    }
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}
