/**
 * What the filesystem driver remembers between reads: each file version's SHA-256 (so a
 * read rarely hashes a file: writes hash as they go), and the bytes of small files (a
 * fleet fetches the same few configs over and over). Both bounded; least recently used
 * first out. A version is identified by inode, size and mtime: every write of ours
 * renames a new inode into place, and an edit in place changes size or mtime.
 */
import type { ByteRange, StoredObject } from "../../core/storage.js";
import { bytesStream } from "./fs-util.js";

/** Remembered file hashes; beyond this many the oldest are forgotten (and recomputed on demand). */
const HASH_CACHE_LIMIT = 10_000;

/** Files up to this size are kept in memory once read (devices fetch the same few configs over and over). */
export const SMALL_FILE_BYTES = 256 * 1024;
/** Total bytes of file contents kept in memory; least recently used first out. */
const CONTENT_CACHE_BYTES = 32 * 1024 * 1024;

/** Identity of one version of a file: a rewrite changes the inode (we always rename) or size or mtime. */
export const versionOf = (info: { ino: bigint; size: bigint; mtimeNs: bigint }) =>
  `${info.ino}:${info.size}:${info.mtimeNs}`;

export function createFileCache() {
  // path → "version|sha256". Hashes are computed while writing, so a read rarely has to hash a file.
  const hashes = new Map<string, string>();
  const remember = (path: string, version: string, sha256: string) => {
    hashes.delete(path);
    hashes.set(path, `${version}|${sha256}`);
    if (hashes.size > HASH_CACHE_LIMIT) hashes.delete(hashes.keys().next().value as string);
  };
  const recall = (path: string, version: string) => {
    const entry = hashes.get(path);
    return entry?.startsWith(`${version}|`) ? entry.slice(version.length + 1) : undefined;
  };
  // path → small file's bytes for one version. A hit costs one stat instead of open/fstat/read/close.
  const contents = new Map<string, { version: string; bytes: Uint8Array; sha256: string; mtimeMs: number }>();
  let contentBytes = 0;
  const forgetContent = (path: string) => {
    const old = contents.get(path);
    if (old) contentBytes -= old.bytes.length;
    contents.delete(path);
  };
  const keepContent = (path: string, version: string, bytes: Uint8Array, sha256: string, mtimeMs: number) => {
    forgetContent(path);
    if (bytes.length > SMALL_FILE_BYTES) return;
    contents.set(path, { version, bytes, sha256, mtimeMs });
    contentBytes += bytes.length;
    for (const key of contents.keys()) {
      if (contentBytes <= CONTENT_CACHE_BYTES) break;
      forgetContent(key);
    }
  };
  const fromMemory = (bytes: Uint8Array, sha256: string, mtimeMs: number, range?: ByteRange): StoredObject => {
    const part = range ? bytes.subarray(range.offset, range.offset + range.length) : bytes;
    let body: ReadableStream<Uint8Array> | undefined;
    return {
      size: bytes.length,
      lastModified: new Date(mtimeMs),
      sha256,
      bytes: part,
      // Made only when asked for: most callers use `bytes`, and a stream costs more than the read.
      get body() {
        body ??= bytesStream(part);
        return body;
      },
    };
  };

  return { remember, recall, contents, keepContent, forgetContent, fromMemory };
}
