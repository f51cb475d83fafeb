/**
 * What a process and a folder hold at one moment, for the capacity figures: a process's
 * resident memory (VmRSS, Linux /proc) and a folder's allocated disk space (blocks, so a
 * 200-byte record counts the 4 KiB it occupies, as it does on a real disk).
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";

/** Resident memory in bytes; undefined when the process is gone or /proc is not there. */
export async function rssBytes(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => undefined);
  const match = status && /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** Allocated bytes of every file under `dir` (0 when it does not exist). */
export async function diskBytes(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(gone([]));
  let total = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await diskBytes(path);
    else if (entry.isFile()) total += (await stat(path).catch(gone({ blocks: 0 }))).blocks * 512;
  }
  return total;
}

/** The server renames and removes files while we walk: a file gone meanwhile holds nothing. */
const gone =
  <T>(value: T) =>
  (error: NodeJS.ErrnoException): T => {
    if (error.code === "ENOENT") return value;
    throw error;
  };
