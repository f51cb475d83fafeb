/**
 * What the filesystem driver remembers between reads: each file version's SHA-256 (so a
 * read rarely hashes a file: writes hash as they go), and the bytes of small files (a
 * fleet fetches the same few configs over and over). Both bounded; least recently used
 * first out. A version is identified by inode, size, mtime and mode: every write of ours
 * renames a new inode into place, an edit in place changes size or mtime, a chmod the mode.
 */
import type { ByteRange, StoredObject } from "../../core/storage.js";
import { bytesStream } from "./fs-util.js";

/** Remembered file hashes; beyond this many the oldest are forgotten (and recomputed on demand). */
const HASH_CACHE_LIMIT = 10_000;

/** Files up to this size are kept in memory once read (devices fetch the same few configs over and over). */
export const SMALL_FILE_BYTES = 256 * 1024;
/** Total bytes of file contents kept in memory; least recently used first out. */
const CONTENT_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * How long a cached file is served without looking at the disk. Changes made by the
 * server itself update the cache at once, and the file watcher reports most others at
 * once; this bounds the rest (a network filesystem, a missed event): at most one stat per
 * file per this many milliseconds, and a change is seen within it.
 */
export const REVALIDATE_MS = 1000;

/** One read in flight; `overtaken` once a change to its file was made or reported after it began. */
export interface ReadTicket {
  overtaken: boolean;
}

export interface CachedFile {
  version: string;
  bytes: Uint8Array;
  sha256: string;
  mtimeMs: number;
  /** performance.now() of the last time the file was known to be this version. */
  checkedAt: number;
  /** performance.now() of the last time peek moved it to the newest end of the LRU order. */
  movedAt?: number;
}

/**
 * Identity of one version of a file: a rewrite changes the inode (we always rename) or
 * size or mtime; a chmod changes the mode (a file made unreadable must stop being served).
 * Not ctime: our own link-then-rename changes it after the version was taken.
 */
export const versionOf = (info: { ino: bigint; size: bigint; mtimeNs: bigint; mode: bigint }) =>
  `${info.ino}:${info.size}:${info.mtimeNs}:${info.mode}`;

export function createFileCache(now: () => number) {
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
  // path → small file's bytes for one version. A hit within REVALIDATE_MS of its last check
  // costs no system call at all; an older one costs one stat (see fs.ts, read).
  const contents = new Map<string, CachedFile>();
  let contentBytes = 0;
  const forgetContent = (path: string) => {
    const old = contents.get(path);
    if (old) contentBytes -= old.bytes.length;
    contents.delete(path);
  };
  const keepContent = (path: string, version: string, bytes: Uint8Array, sha256: string, mtimeMs: number) => {
    forgetContent(path);
    if (bytes.length > SMALL_FILE_BYTES) return;
    contents.set(path, { version, bytes, sha256, mtimeMs, checkedAt: now() });
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
      part: (subrange) => fromMemory(bytes, sha256, mtimeMs, subrange),
      // Made only when asked for: most callers use `bytes`, and a stream costs more than the read.
      get body() {
        body ??= bytesStream(part);
        return body;
      },
    };
  };

  // Reads in flight per path. A read that opened the file before a write replaced it finishes
  // after that write and must not put its older bytes back in the cache as current: that
  // was served for up to REVALIDATE_MS after the write had answered.
  const reading = new Map<string, Set<ReadTicket>>();
  const beginRead = (path: string): ReadTicket => {
    const ticket: ReadTicket = { overtaken: false };
    const tickets = reading.get(path) ?? new Set<ReadTicket>();
    reading.set(path, tickets);
    tickets.add(ticket);
    return ticket;
  };
  /** Ends a read; true when nothing changed the file since it began, so what it found may be kept. */
  const endRead = (path: string, ticket: ReadTicket): boolean => {
    const tickets = reading.get(path);
    tickets?.delete(ticket);
    if (tickets?.size === 0) reading.delete(path);
    return !ticket.overtaken;
  };
  /** The file changed (our write, or a reported change): reads in flight found an older version. */
  const overtakeReads = (path: string) => {
    for (const ticket of reading.get(path) ?? []) ticket.overtaken = true;
  };

  /** A change was reported (by the file watcher): the next read checks the file again. */
  const markStale = (path: string) => {
    overtakeReads(path);
    const entry = contents.get(path);
    if (entry) entry.checkedAt = Number.NEGATIVE_INFINITY;
  };
  const markAllStale = (dir: string) => {
    for (const path of reading.keys()) if (path.startsWith(dir)) overtakeReads(path);
    for (const [path, entry] of contents) if (path.startsWith(dir)) entry.checkedAt = Number.NEGATIVE_INFINITY;
  };

  return {
    remember,
    recall,
    contents,
    keepContent,
    forgetContent,
    fromMemory,
    markStale,
    markAllStale,
    beginRead,
    endRead,
    overtakeReads,
  };
}
