/**
 * The filesystem driver's read path. A small file is served from memory: within
 * REVALIDATE_MS of its last check with no system call at all, after that with one stat.
 * A large file is opened once (no symlink out of the directory, no FIFO), hashed only if
 * this version's hash is not remembered, and handed out as an open file for the runtime
 * to send (Node: straight into the socket) or as a Web stream.
 */
import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import {
  type Area,
  type ByteRange,
  type HeldObject,
  type ReadOptions,
  type StoredObject,
  storageUnavailable,
} from "../../core/storage.js";
import { type createFileCache, REVALIDATE_MS, type ReadTicket, SMALL_FILE_BYTES, versionOf } from "./fs-cache.js";
import { openRegularFile } from "./fs-open.js";
import { directoryProblem, errno, fileStream, hashFile } from "./fs-util.js";
import type { OpenFileRange } from "./open-file-range.js";

type FileCache = ReturnType<typeof createFileCache>;

const isMissing = (error: unknown) => errno(error) === "ENOENT" || errno(error) === "ENOTDIR";

/** How often a held file read over and over moves back to the newest end of the LRU order. */
const LRU_REFRESH_MS = 1000;

/**
 * StorageDriver.peek over the same cache: a held small file still within its revalidation
 * bound. It runs for every cached device read, so it avoids what a read can do without:
 * path.join's normalising (a plain name is the directory's prefix plus the name, which is
 * exactly what join makes of it), and moving the entry in the LRU order each time (once a
 * second keeps a busy file from eviction as well).
 */
export function createFsPeek(dirs: Record<Area, string>, cache: FileCache, now: () => number) {
  const prefixes = {} as Record<Area, string>;
  for (const area of Object.keys(dirs) as Area[]) prefixes[area] = join(dirs[area], "x").slice(0, -1);
  const pathOf = (area: Area, name: string) =>
    name === "" || name === "." || name === ".." || name.includes("/") ? join(dirs[area], name) : prefixes[area] + name;
  return function peek(area: Area, name: string): HeldObject | undefined {
    const path = pathOf(area, name);
    const cached = cache.contents.get(path);
    const at = now();
    if (!cached || at - cached.checkedAt >= REVALIDATE_MS) return undefined;
    if (at - (cached.movedAt ?? Number.NEGATIVE_INFINITY) >= LRU_REFRESH_MS) {
      cached.movedAt = at;
      cache.contents.delete(path);
      cache.contents.set(path, cached);
    }
    return cached;
  };
}

export function createFsReader(dirs: Record<Area, string>, cache: FileCache, now: () => number) {
  const { remember, recall, contents, keepContent, forgetContent, fromMemory, beginRead, endRead } = cache;

  /** The cached bytes of `path` if they are still the file's, else undefined (and forgotten). */
  const cachedCurrent = async (path: string) => {
    const cached = contents.get(path);
    if (!cached) return undefined;
    let current = now() - cached.checkedAt < REVALIDATE_MS;
    if (!current) {
      try {
        current = versionOf(await stat(path, { bigint: true })) === cached.version;
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
      // While the stat ran, a write may have replaced the entry: only this version is judged here.
      if (contents.get(path) !== cached) return current ? cached : undefined;
      if (current) cached.checkedAt = now();
    }
    if (!current) {
      forgetContent(path);
      return undefined;
    }
    // Refresh its place in the LRU order.
    contents.delete(path);
    contents.set(path, cached);
    return cached;
  };

  return async function read(area: Area, name: string, options: ReadOptions = {}): Promise<StoredObject | null> {
    const path = join(dirs[area], name);
    const ticket = beginRead(path);
    try {
      return await readFile(area, name, path, ticket, options);
    } finally {
      endRead(path, ticket);
    }
  };

  async function readFile(
    area: Area,
    name: string,
    path: string,
    ticket: ReadTicket,
    options: ReadOptions,
  ): Promise<StoredObject | null> {
    const cached = await cachedCurrent(path);
    if (cached) return fromMemory(cached.bytes, cached.sha256, cached.mtimeMs, options.range);

    let opened: Awaited<ReturnType<typeof openRegularFile>>;
    try {
      opened = await openRegularFile(dirs[area], name);
    } catch (error) {
      if (isMissing(error)) {
        // A missing directory is an outage, not a missing record.
        const problem = await directoryProblem(dirs[area], area);
        if (problem) throw storageUnavailable(problem, error);
        return null;
      }
      throw error;
    }
    if (!opened) return null;
    const { handle, info } = opened;
    try {
      const version = versionOf(info);
      const size = Number(info.size);
      if (size <= SMALL_FILE_BYTES) {
        const bytes = new Uint8Array(await handle.readFile());
        await handle.close();
        if (bytes.length !== size) {
          // Rewritten in place while being read (an editor, a sync job): what was read is not the
          // version that was stat'ed, so it is hashed as it is and neither remembered nor kept.
          const own = createHash("sha256").update(bytes).digest("hex");
          return fromMemory(bytes, own, Number(info.mtimeMs), options.range);
        }
        const sha256 = recall(path, version) ?? createHash("sha256").update(bytes).digest("hex");
        remember(path, version, sha256);
        // A write (or a reported change) since this read began: these bytes may be older than
        // the file now is, so they are served to this caller only, never kept as current.
        if (!ticket.overtaken) keepContent(path, version, bytes, sha256, Number(info.mtimeMs));
        return fromMemory(bytes, sha256, Number(info.mtimeMs), options.range);
      }
      let sha256 = recall(path, version);
      if (!sha256) {
        sha256 = await hashFile(handle, size);
        remember(path, version, sha256);
      }
      const hashed = sha256;
      const openFile = (range: ByteRange): StoredObject => {
        const [start, end] = [range.offset, range.offset + range.length];
        let body: ReadableStream<Uint8Array> | undefined;
        return {
          size,
          lastModified: new Date(Number(info.mtimeMs)),
          sha256: hashed,
          // For a runtime that can send an open file itself (Node: fs stream straight into the socket).
          native: { kind: "open-file", handle, start, end } satisfies OpenFileRange,
          // Made only when asked for, so that a native send never has a Web stream racing it for the handle.
          get body() {
            body ??= fileStream(handle, start, end);
            return body;
          },
          // The same open file: a Range answer costs no second open.
          part: openFile,
        };
      };
      return openFile(options.range ?? { offset: 0, length: size });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }
}
