/**
 * One-time markers on the filesystem (used upload signatures): one file per key, created
 * with O_EXCL, which the kernel (and NFS v3+) applies atomically, so exactly one of any
 * number of processes sharing the directory wins.
 *
 * The markers live under STATE_DIR, never in a served directory: the configs and assets
 * directories hold exactly what devices fetch (a static server or a sync job may publish
 * them whole). Servers that share their data directories must share STATE_DIR too. A
 * marker holds nothing secret (the hash of a signature that was already sent in the
 * clear), only its own expiry.
 *
 * Each marker keeps its own expiry, so a server sweeps only markers whose expiry has
 * passed, never those another server sharing STATE_DIR with a longer tolerance must still
 * remember. The expiry is the file's content, not its mtime: a sweeper that reads a
 * marker before its content is complete sees an old-format marker and keeps it (no race
 * with the claimer); and copying or restoring the directory without preserving times
 * (`cp`, `rsync` without `-t`) leaves the content intact, where an mtime would be reset
 * to "now" and expire at once. Markers from before (empty files whose mtime is the claim
 * time, retention unknown) are kept for the longest retention any server could have used.
 */
import { constants } from "node:fs";
import { mkdir, open, readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { errorFields, type Logger } from "../../core/logger.js";
import { LONGEST_SIGNATURE_RETAIN_SECONDS } from "../../core/signature-retention.js";
import { CLAIM_KEY, storageUnavailable } from "../../core/storage.js";
import { directoryProblem, errno, syncDirectory, throwIfDiskFull } from "./fs-util.js";

export const LEDGER_DIR = "used-signatures";
/** At most one sweep of expired markers per this many milliseconds (on the wall clock) per process. */
const SWEEP_INTERVAL_MS = 60_000;
/** More than any marker this ledger writes: a larger file is not one of ours and is read as old-format. */
const MAX_MARKER_BYTES = 256;
/** Never follow a link, never block on a FIFO: whatever else sits in STATE_DIR is not trusted. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const LEFT_ALONE = new Set(["ENOENT", "ELOOP", "ENXIO", "EACCES"]);

export interface Ledger {
  claimOnce(key: string, retainSeconds: number): Promise<boolean>;
  releaseClaim(key: string): Promise<void>;
}

/** The content of a marker: one JSON line, so a partly written one never parses. */
const markerContent = (expiresAtMs: number) =>
  `${JSON.stringify({ expires_at: new Date(expiresAtMs).toISOString() })}\n`;

/** The expiry a marker's content records, or undefined for an old-format (empty) or unreadable one. */
function recordedExpiry(content: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(content);
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const expiresAt = (parsed as { expires_at?: unknown }).expires_at;
    const ms = typeof expiresAt === "string" ? Date.parse(expiresAt) : Number.NaN;
    return Number.isFinite(ms) ? ms : undefined;
  } catch {
    // Empty (an old-format marker, or one whose content a crash lost) or not ours: no recorded expiry.
    return undefined;
  }
}

export async function createFsLedger(stateDir: string, logger: Logger, now = Date.now): Promise<Ledger> {
  const dir = join(stateDir, LEDGER_DIR);
  await mkdir(dir, { recursive: true });
  let lastSweep = Number.NEGATIVE_INFINITY;

  const checkKey = (key: string) => {
    if (!CLAIM_KEY.test(key)) throw new Error("claim keys are hex digests");
  };

  /**
   * Creates the marker; EEXIST means "already claimed". Its content is not flushed on its
   * own: one a crash empties reads as old-format, which is kept longest.
   */
  const create = async (key: string, expiresAtMs: number): Promise<boolean> => {
    const path = join(dir, key);
    const handle = await open(path, "wx", 0o644);
    try {
      await handle.writeFile(markerContent(expiresAtMs));
    } catch (error) {
      // The claim failed as a whole: take back the marker we created (its content is incomplete).
      await handle.close();
      await unlink(path).catch((unlinkError: unknown) =>
        logger.warn("could not remove an incomplete signature marker", errorFields(unlinkError)),
      );
      throw error;
    }
    await handle.close();
    return true;
  };

  /** When a marker may be forgotten, or undefined when it is not a regular file (not ours: left alone). */
  const expiryOf = async (name: string): Promise<number | undefined> => {
    const handle = await open(join(dir, name), READ_FLAGS);
    try {
      const info = await handle.stat();
      if (!info.isFile()) return undefined;
      const oldFormat = info.mtimeMs + LONGEST_SIGNATURE_RETAIN_SECONDS * 1000;
      if (info.size === 0 || info.size > MAX_MARKER_BYTES) return oldFormat;
      const buffer = new Uint8Array(MAX_MARKER_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      return recordedExpiry(new TextDecoder().decode(buffer.subarray(0, bytesRead))) ?? oldFormat;
    } finally {
      await handle.close();
    }
  };

  const sweep = async () => {
    const at = now();
    let removed = 0;
    for (const name of await readdir(dir)) {
      if (!CLAIM_KEY.test(name)) continue;
      try {
        const expiresAt = await expiryOf(name);
        if (expiresAt !== undefined && expiresAt < at) {
          await unlink(join(dir, name));
          removed++;
        }
      } catch (error) {
        // Another process swept it first (ENOENT). Left alone, without stopping the sweep: a
        // link (ELOOP) or a socket (ENXIO), not a marker; one we may not read (EACCES: another
        // user's, written under umask 077), whose expiry only the server that wrote it knows.
        if (!LEFT_ALONE.has(errno(error) ?? "")) throw error;
      }
    }
    if (removed > 0) logger.debug("swept expired signature markers", { removed });
  };

  return {
    async claimOnce(key, retainSeconds) {
      checkKey(key);
      const expiresAt = now() + retainSeconds * 1000;
      let claimed: boolean;
      try {
        claimed = await create(key, expiresAt);
      } catch (error) {
        if (errno(error) === "EEXIST") return false;
        throwIfDiskFull(error);
        if (errno(error) !== "ENOENT") throw error;
        // The state directory itself gone is an outage; only our own folder in it is re-created.
        const problem = await directoryProblem(stateDir, "state");
        if (problem) throw storageUnavailable(problem, error);
        await mkdir(dir);
        try {
          claimed = await create(key, expiresAt);
        } catch (retryError) {
          if (errno(retryError) === "EEXIST") return false;
          throwIfDiskFull(retryError);
          throw retryError;
        }
      }
      // Durable before the upload it guards is committed: a crash must not let a replay through.
      await syncDirectory(dir, logger);
      if (now() - lastSweep > SWEEP_INTERVAL_MS) {
        lastSweep = now();
        await sweep().catch((error) => logger.warn("could not sweep expired signature markers", errorFields(error)));
      }
      return claimed;
    },

    async releaseClaim(key) {
      checkKey(key);
      try {
        await unlink(join(dir, key));
      } catch (error) {
        if (errno(error) !== "ENOENT") throw error;
      }
    },
  };
}
