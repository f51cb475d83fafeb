/**
 * One-time markers on the filesystem (used upload signatures): one empty file per key,
 * created with O_EXCL, which the kernel (and NFS v3+) applies atomically, so exactly one
 * of any number of processes sharing the directory wins.
 *
 * The markers live under STATE_DIR, never in a served directory: the configs and assets
 * directories hold exactly what devices fetch (a static server or a sync job may publish
 * them whole). Servers that share their data directories must share STATE_DIR too. A
 * marker holds nothing secret (the hash of a signature that was already sent in the
 * clear). Markers older than the retention are swept now and then.
 */
import { mkdir, open, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { errorFields, type Logger } from "../../core/logger.js";
import { CLAIM_KEY, storageUnavailable } from "../../core/storage.js";
import { directoryProblem, errno, syncDirectory, throwIfDiskFull } from "./fs-util.js";

export const LEDGER_DIR = "used-signatures";
/** At most one sweep of expired markers per this many milliseconds per process. */
const SWEEP_INTERVAL_MS = 60_000;

export interface Ledger {
  claimOnce(key: string, retainSeconds: number): Promise<boolean>;
  releaseClaim(key: string): Promise<void>;
}

export async function createFsLedger(stateDir: string, logger: Logger, now = Date.now): Promise<Ledger> {
  const dir = join(stateDir, LEDGER_DIR);
  await mkdir(dir, { recursive: true });
  let lastSweep = 0;

  const checkKey = (key: string) => {
    if (!CLAIM_KEY.test(key)) throw new Error("claim keys are hex digests");
  };

  /** Creates the marker; EEXIST means "already claimed". */
  const create = async (key: string): Promise<boolean> => {
    const handle = await open(join(dir, key), "wx", 0o644);
    await handle.close();
    return true;
  };

  const sweep = async (retainSeconds: number) => {
    const cutoff = now() - retainSeconds * 1000;
    let removed = 0;
    for (const name of await readdir(dir)) {
      if (!CLAIM_KEY.test(name)) continue;
      try {
        if ((await stat(join(dir, name))).mtimeMs < cutoff) {
          await unlink(join(dir, name));
          removed++;
        }
      } catch (error) {
        // Another process swept it first.
        if (errno(error) !== "ENOENT") throw error;
      }
    }
    if (removed > 0) logger.debug("swept expired signature markers", { removed });
  };

  return {
    async claimOnce(key, retainSeconds) {
      checkKey(key);
      let claimed: boolean;
      try {
        claimed = await create(key);
      } catch (error) {
        if (errno(error) === "EEXIST") return false;
        throwIfDiskFull(error);
        if (errno(error) !== "ENOENT") throw error;
        // The state directory itself gone is an outage; only our own folder in it is re-created.
        const problem = await directoryProblem(stateDir, "state");
        if (problem) throw storageUnavailable(problem, error);
        await mkdir(dir);
        try {
          claimed = await create(key);
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
        await sweep(retainSeconds).catch((error) =>
          logger.warn("could not sweep expired signature markers", errorFields(error)),
        );
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
