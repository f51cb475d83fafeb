/**
 * Filesystem storage driver (Node, Deno, Bun through `node:fs`).
 *
 * Atomicity: every write goes to a uniquely named temporary file in the target
 * directory, is flushed to disk, then appears under its final name in one step
 * (fs-publish.ts: `link` where the name is free, `rename` over what holds it). Temporary
 * files are removed on every failure path and swept at start-up.
 *
 * A name exists when a read would see it (fs-names.ts), for writes, removes and the
 * listing alike: an entry reads treat as absent (a link out of the directory, a FIFO) is
 * replaced by a create-only write, and left alone by a remove.
 *
 * The data directories are created at start-up only: a directory that disappears
 * while running is reported as unavailable, never silently re-created.
 */
import { createHash, randomUUID } from "node:crypto";
import type { BigIntStats } from "node:fs";
import { type FileHandle, mkdir, open, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../core/logger.js";
import { type Area, type StagedWrite, type StorageDriver, storageUnavailable } from "../../core/storage.js";
import { createFileCache, versionOf } from "./fs-cache.js";
import { createFsLedger } from "./fs-ledger.js";
import { namesSeenByReads, seenByReads } from "./fs-names.js";
import { createPublisher } from "./fs-publish.js";
import { createFsPeek, createFsReader } from "./fs-read.js";
import { createFsState } from "./fs-state.js";
import {
  directoryProblem,
  errno,
  sweepTemporaryFiles,
  syncDirectory,
  TEMP_PREFIX,
  throwIfDiskFull,
} from "./fs-util.js";
import { type ChangeListener, watchDirectories } from "./fs-watch.js";

export interface FsStorageOptions {
  configsDir: string;
  assetsDir: string;
  /** Server bookkeeping outside the served directories (used upload signatures). */
  stateDir: string;
  logger: Logger;
  /** Clock for cache revalidation (tests step it); performance.now by default. */
  now?: () => number;
  /** Wall clock (ms since the epoch) for the expiry of one-time markers (tests step it); Date.now by default. */
  wallClock?: () => number;
  /** Watch the directories for changes made by others (default true; tests turn it off to see the revalidation bound alone). */
  watch?: boolean;
}

const tempName = () => `${TEMP_PREFIX}${randomUUID()}.tmp`;
export async function createFsStorage(options: FsStorageOptions): Promise<StorageDriver> {
  const { logger } = options;
  const dirs: Record<Area, string> = { configs: options.configsDir, assets: options.assetsDir };
  const now = options.now ?? (() => performance.now());
  const cache = createFileCache(now);
  const { remember, keepContent, forgetContent, markStale, markAllStale, overtakeReads } = cache;
  for (const area of Object.keys(dirs) as Area[]) {
    await mkdir(dirs[area], { recursive: true });
    await sweepTemporaryFiles(dirs[area], area, logger);
  }
  const ledger = await createFsLedger(options.stateDir, logger, options.wallClock);
  const listeners = new Set<ChangeListener>();
  /** Our own writes: the cache is already current; only listeners need telling. */
  const announce: ChangeListener = (area, name) => {
    for (const listener of listeners) listener(area, name);
  };
  /** Changes the watcher saw (ours included): the next read checks the disk. */
  const changed: ChangeListener = (area, name) => {
    if (name === undefined) markAllStale(dirs[area]);
    else markStale(join(dirs[area], name));
    announce(area, name);
  };
  const watch = options.watch === false ? undefined : watchDirectories(dirs, changed, logger);

  const { translate, removeQuietly, publish } = createPublisher(dirs, logger);

  const openTemp = async (area: Area): Promise<{ path: string; handle: FileHandle }> => {
    const path = join(dirs[area], tempName());
    try {
      return { path, handle: await open(path, "wx", 0o644) };
    } catch (error) {
      return translate(area, error);
    }
  };

  /** Writes (if asked), flushes and closes a temporary file; its version. On any failure the file is removed. */
  const seal = async (area: Area, path: string, handle: FileHandle, write?: () => Promise<void>) => {
    let info: BigIntStats;
    try {
      await write?.();
      await handle.sync();
      info = await handle.stat({ bigint: true });
    } catch (error) {
      await handle.close();
      await removeQuietly(path, { area });
      throwIfDiskFull(error);
      throw error;
    }
    await handle.close();
    return { version: versionOf(info), mtimeMs: Number(info.mtimeMs) };
  };

  return {
    name: "filesystem",

    read: createFsReader(dirs, cache, now),
    peek: createFsPeek(dirs, cache, now),

    async write(area, name, data, writeOptions = {}) {
      const { path, handle } = await openTemp(area);
      const { version, mtimeMs } = await seal(area, path, handle, () => handle.writeFile(data));
      const outcome = await publish(area, path, name, writeOptions.ifAbsent === true);
      // link and rename keep the inode and mtime, so the temporary file's version is the final one's.
      if (outcome !== "exists") {
        const sha256 = createHash("sha256").update(data).digest("hex");
        // Reads that began before the new version was in place must not cache the old one after it.
        overtakeReads(join(dirs[area], name));
        remember(join(dirs[area], name), version, sha256);
        keepContent(join(dirs[area], name), version, data.slice(), sha256, mtimeMs);
        announce(area, name);
      }
      return outcome;
    },

    async stage(area, name): Promise<StagedWrite> {
      const { path, handle } = await openTemp(area);
      const hash = createHash("sha256");
      let sha256: string | undefined;
      let size = 0;
      let settled = false;
      const settle = () => {
        if (settled) throw new Error("staged write already committed or aborted");
        settled = true;
      };
      const digest = () => {
        sha256 ??= hash.digest("hex");
        return sha256;
      };
      /**
       * The data's flush, started when the writing ends (digest), so that it overlaps with what
       * the caller checks before committing (a version 2 signature is verified and claimed only
       * then). Settles with its error, never rejects: commit rethrows it rather than trusting a
       * second fsync, which on Linux can succeed after the first one lost the data.
       */
      let flushing: Promise<unknown> | undefined;
      const startFlush = () => {
        flushing ??= handle.sync().then(
          () => undefined,
          (error: unknown) => error ?? new Error("fsync failed"),
        );
      };
      return {
        async write(chunk) {
          if (settled || sha256) throw new Error("staged write already digested, committed or aborted");
          let offset = 0;
          try {
            while (offset < chunk.byteLength) {
              const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
              offset += bytesWritten;
            }
          } catch (error) {
            throwIfDiskFull(error);
            throw error;
          }
          hash.update(chunk);
          size += chunk.byteLength;
        },
        digest: async () => {
          startFlush();
          return digest();
        },
        async commit() {
          settle();
          const { version } = await seal(area, path, handle, async () => {
            const failed = await flushing;
            if (failed !== undefined) throw failed;
          });
          const outcome = await publish(area, path, name, false);
          overtakeReads(join(dirs[area], name));
          remember(join(dirs[area], name), version, digest());
          // The bytes were streamed, not kept: the next read loads the new version.
          forgetContent(join(dirs[area], name));
          announce(area, name);
          return { outcome: outcome === "created" ? "created" : "replaced", size };
        },
        async abort() {
          if (settled) return;
          settled = true;
          // Not closed under a flush still running: the descriptor could be reused meanwhile.
          await flushing;
          await handle.close();
          await removeQuietly(path, { area });
        },
      };
    },

    async remove(area, name) {
      // Only what a read would see is removed; anything else under the name is someone
      // else's and left alone. Remaining window: unlink cannot be made conditional on what it
      // removes, so an entry another process swaps in after this check is removed instead
      // (this process's own writes to the name are ordered behind this remove).
      if (!(await seenByReads(dirs[area], name))) {
        const problem = await directoryProblem(dirs[area], area);
        if (problem) throw storageUnavailable(problem);
        return false;
      }
      forgetContent(join(dirs[area], name));
      try {
        await unlink(join(dirs[area], name));
      } catch (error) {
        if (errno(error) === "ENOENT") {
          const problem = await directoryProblem(dirs[area], area);
          if (problem) throw storageUnavailable(problem, error);
          return false;
        }
        throw error;
      }
      // A read that finished between the first forget and the unlink may have cached it again.
      overtakeReads(join(dirs[area], name));
      forgetContent(join(dirs[area], name));
      await syncDirectory(dirs[area], logger);
      announce(area, name);
      return true;
    },

    async list(area) {
      try {
        return await namesSeenByReads(dirs[area]);
      } catch (error) {
        return translate(area, error);
      }
    },

    state: createFsState(options.stateDir, logger),
    claimOnce: ledger.claimOnce,
    releaseClaim: ledger.releaseClaim,

    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    watchesOthers: (area) => watch?.watching(area) ?? false,

    async dispose() {
      watch?.stop();
      listeners.clear();
    },

    async check() {
      for (const area of Object.keys(dirs) as Area[]) {
        const problem = await directoryProblem(dirs[area], area);
        if (problem) throw storageUnavailable(problem);
      }
    },
  };
}
