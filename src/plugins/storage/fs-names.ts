/**
 * Which names exist in a data directory, for every operation of the filesystem driver:
 * exactly those a read would see (fs-open.ts decides: a regular file, or a link to a regular
 * file directly in the same directory). Anything else under a config's or an asset's name —
 * a link out of the directory, a dangling link, a FIFO, a socket, a directory — is absent
 * for reads, so it is absent for a create-only write, a delete and the listing too; one
 * answer, whichever route asks.
 */
import { readdir } from "node:fs/promises";
import { openRegularFile } from "./fs-open.js";
import { errno, isTempName } from "./fs-util.js";

/** Whether a read of `name` in `dir` would find a file; false when nothing is there. Opens no FIFO blocking. */
export async function seenByReads(dir: string, name: string): Promise<boolean> {
  let opened: Awaited<ReturnType<typeof openRegularFile>>;
  try {
    opened = await openRegularFile(dir, name);
  } catch (error) {
    // Gone, or the directory with it: the caller tells a missing directory from a missing name.
    if (errno(error) === "ENOENT" || errno(error) === "ENOTDIR") return false;
    throw error;
  }
  if (!opened) return false;
  await opened.handle.close();
  return true;
}

/**
 * The names in `dir` a read would see (temporary files of writes in progress left out).
 * Regular files are taken from the directory listing's own types without opening them
 * (a listing of ten thousand configs must not cost ten thousand opens); links, which reads
 * follow only within the directory, are checked one by one as a read would; every other
 * type is left out. A regular file the server may not open is listed, and its read is
 * empty: the config listing skips it like any unreadable file.
 */
export async function namesSeenByReads(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (isTempName(entry.name)) continue;
    if (entry.isFile() || (entry.isSymbolicLink() && (await seenByReads(dir, entry.name)))) names.push(entry.name);
  }
  return names;
}
