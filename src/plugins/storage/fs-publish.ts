/**
 * How the filesystem driver makes a finished temporary file appear under its name:
 * `link` where the name is free (atomic create-if-absent: what makes `ifAbsent` race-free
 * between processes), `rename` over what holds it (atomic replace), then the directory is
 * flushed. Also the error translation and temporary-file cleanup its failure paths share.
 */
import { link, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { errorFields, type LogFields, type Logger } from "../../core/logger.js";
import { type Area, nameOccupied, storageUnavailable, type WriteOutcome } from "../../core/storage.js";
import { seenByReads } from "./fs-names.js";
import { directoryProblem, errno, syncDirectory, throwIfDiskFull } from "./fs-util.js";

export function createPublisher(dirs: Record<Area, string>, logger: Logger) {
  /** Maps a failure on the directory itself to "unavailable", a full volume to "full"; others pass through. */
  const translate = async (area: Area, error: unknown): Promise<never> => {
    throwIfDiskFull(error);
    if (errno(error) === "ENOENT" || errno(error) === "ENOTDIR") {
      const problem = await directoryProblem(dirs[area], area);
      if (problem) throw storageUnavailable(problem, error);
    }
    throw error;
  };

  const removeQuietly = async (path: string, context: LogFields) => {
    try {
      await unlink(path);
    } catch (error) {
      if (errno(error) !== "ENOENT")
        logger.warn("could not remove temporary file", { ...context, ...errorFields(error) });
    }
  };

  /** Makes the finished temporary file visible under `name`. */
  const publish = async (area: Area, tmp: string, name: string, ifAbsent: boolean): Promise<WriteOutcome> => {
    const target = join(dirs[area], name);
    try {
      await link(tmp, target);
      await removeQuietly(tmp, { area });
      await syncDirectory(dirs[area], logger);
      return "created";
    } catch (error) {
      if (errno(error) !== "EEXIST") {
        await removeQuietly(tmp, { area });
        return translate(area, error);
      }
    }
    // Something holds the name; it exists only if a read would see it. An entry no read sees
    // is replaced as if the name were free. Remaining window: rename cannot be made
    // conditional on what it replaces, so if another process puts a file a read would see
    // under the name between this check and the rename (a second server sharing the
    // directory, doing the same), the rename replaces it and both writes say `created`.
    // This process's own writes to one name are ordered (core/ordered-writes.ts), so only
    // another process can open it, for the time of one open and lstat.
    let seen: boolean;
    try {
      seen = await seenByReads(dirs[area], name);
    } catch (error) {
      await removeQuietly(tmp, { area });
      throw error;
    }
    if (seen && ifAbsent) {
      await removeQuietly(tmp, { area });
      return "exists";
    }
    try {
      await rename(tmp, target);
    } catch (error) {
      await removeQuietly(tmp, { area });
      // A directory under the name: a file cannot replace it, and it is not ours to delete.
      if (errno(error) === "EISDIR") throw nameOccupied(area, name, {}, error);
      return translate(area, error);
    }
    await syncDirectory(dirs[area], logger);
    return seen ? "replaced" : "created";
  };

  return { translate, removeQuietly, publish };
}
