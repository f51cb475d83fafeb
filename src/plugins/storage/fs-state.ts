/**
 * The state records (core/state.ts) on the filesystem: one file per record under
 * STATE_DIR/<namespace>/, written like every other file of the driver (a temporary file,
 * fsync, then link or rename into place, then the directory flushed), so a reader sees the
 * old record or the new one and a record answered is a record kept, `kill -9` or not.
 *
 * A tracked namespace's version is a small file beside its directory, STATE_DIR/<ns>.version,
 * rewritten with a fresh random value on every tracked change. A directory's own mtime would
 * be cheaper, but the kernel stamps it at a coarse tick: two changes in one tick, with a look
 * between them, and the second would go unseen until a third.
 */
import { randomUUID } from "node:crypto";
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../core/logger.js";
import { checkStateName, checkStateValue, type StateStore } from "../../core/state.js";
import { storageUnavailable } from "../../core/storage.js";
import { openRegularFile } from "./fs-open.js";
import { directoryProblem, errno, isTempName, syncDirectory, TEMP_PREFIX, throwIfDiskFull } from "./fs-util.js";

/** A temporary file older than this was left by a write that will never finish. */
const STALE_TEMP_MS = 60 * 60 * 1000;

export function createFsState(stateDir: string, logger: Logger): StateStore {
  const made = new Set<string>();
  const dirOf = async (ns: string) => {
    const dir = join(stateDir, ns);
    if (made.has(ns)) return dir;
    // The state directory itself gone is an outage; only a namespace's own folder in it is created.
    const problem = await directoryProblem(stateDir, "state");
    if (problem) throw storageUnavailable(problem);
    await mkdir(dir, { recursive: true });
    await sweepStale(dir);
    made.add(ns);
    return dir;
  };

  /**
   * Temporary files an interrupted write left behind. Only old ones: other processes sharing
   * STATE_DIR may be writing theirs right now, and a record is written in well under an hour.
   */
  const sweepStale = async (dir: string) => {
    const cutoff = Date.now() - STALE_TEMP_MS;
    for (const name of (await readdir(dir)).filter(isTempName)) {
      const path = join(dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && info.mtimeMs < cutoff) await unlink(path).catch(() => undefined);
    }
  };

  /** Writes `value` to a temporary file in `dir`, flushed; its path. Removed again on any failure. */
  const temporary = async (dir: string, value: Uint8Array) => {
    const path = join(dir, `${TEMP_PREFIX}${randomUUID()}.tmp`);
    const handle = await open(path, "wx", 0o600).catch((error: unknown) => {
      throwIfDiskFull(error);
      throw error;
    });
    try {
      await handle.writeFile(value);
      await handle.sync();
    } catch (error) {
      await handle.close();
      // The write's own failure is what the caller must see; a leftover is swept later.
      await unlink(path).catch(() => undefined);
      throwIfDiskFull(error);
      throw error;
    }
    await handle.close();
    return path;
  };

  const bump = async (ns: string) => {
    const path = await temporary(stateDir, new TextEncoder().encode(randomUUID()));
    await rename(path, join(stateDir, `${ns}.version`));
    await syncDirectory(stateDir, logger);
  };

  return {
    async list(ns) {
      checkStateName(ns);
      const names = await readdir(await dirOf(ns));
      return names.filter((name) => !isTempName(name));
    },

    async get(ns, key) {
      checkStateName(ns, key);
      // STATE_DIR may hold what others put there: a FIFO must not block a file-system thread,
      // a link must not lead out, and nothing larger than a record may be is read into memory.
      let opened: Awaited<ReturnType<typeof openRegularFile>>;
      try {
        opened = await openRegularFile(await dirOf(ns), key);
      } catch (error) {
        if (errno(error) === "ENOENT") return null;
        throw error;
      }
      if (!opened) return null;
      try {
        const size = Number(opened.info.size);
        checkStateValue({ byteLength: size });
        // At most the size seen: a file growing meanwhile is not followed past it.
        const value = new Uint8Array(size);
        let offset = 0;
        while (offset < size) {
          const { bytesRead } = await opened.handle.read(value, offset, size - offset, offset);
          if (bytesRead === 0) break;
          offset += bytesRead;
        }
        return value.subarray(0, offset);
      } finally {
        await opened.handle.close();
      }
    },

    async put(ns, key, value, options = {}) {
      checkStateName(ns, key);
      checkStateValue(value);
      const dir = await dirOf(ns);
      const tmp = await temporary(dir, value);
      const target = join(dir, key);
      try {
        if (options.ifAbsent) {
          try {
            await link(tmp, target);
          } catch (error) {
            if (errno(error) === "EEXIST") return false;
            throwIfDiskFull(error);
            throw error;
          }
        } else {
          await rename(tmp, target);
        }
      } finally {
        await unlink(tmp).catch((error: unknown) => {
          // After a rename the temporary name is gone already: that is the expected case.
          if (errno(error) !== "ENOENT") logger.warn("could not remove a temporary state file", { ns });
        });
      }
      await syncDirectory(dir, logger);
      if (options.track) await bump(ns);
      return true;
    },

    async delete(ns, key, options = {}) {
      checkStateName(ns, key);
      const dir = await dirOf(ns);
      try {
        await unlink(join(dir, key));
      } catch (error) {
        if (errno(error) === "ENOENT") return false;
        throw error;
      }
      await syncDirectory(dir, logger);
      if (options.track) await bump(ns);
      return true;
    },

    async version(ns) {
      checkStateName(ns);
      try {
        return await readFile(join(stateDir, `${ns}.version`), "utf8");
      } catch (error) {
        if (errno(error) === "ENOENT") return "";
        throw error;
      }
    },
  };
}
