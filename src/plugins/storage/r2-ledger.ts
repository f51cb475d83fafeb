/**
 * One-time markers in R2 (used upload signatures): one empty object per key, written
 * with a conditional PUT (`onlyIf: etagDoesNotMatch "*"`, i.e. If-None-Match: *) that R2
 * applies as one step, so exactly one of any number of isolates wins. The markers sit
 * under a prefix outside `configs/` and `assets/`, never listed or served.
 *
 * Expired markers are deleted now and then by the isolate that happens to claim one; a
 * bucket lifecycle rule on the prefix is the belt to those braces (see wrangler.toml).
 */
import type { R2Bucket } from "@cloudflare/workers-types/2023-07-01/index.js";
import { errorFields, type Logger } from "../../core/logger.js";
import { CLAIM_KEY } from "../../core/storage.js";

export const LEDGER_PREFIX = ".iotsupport-state/signatures/";
/** At most one sweep of expired markers per this many milliseconds per isolate. */
const SWEEP_INTERVAL_MS = 10 * 60_000;

export function createR2Ledger(bucket: R2Bucket, logger: Logger, now = Date.now) {
  let lastSweep = 0;

  const checkKey = (key: string) => {
    if (!CLAIM_KEY.test(key)) throw new Error("claim keys are hex digests");
  };

  const sweep = async (retainSeconds: number) => {
    const cutoff = now() - retainSeconds * 1000;
    let cursor: string | undefined;
    let removed = 0;
    do {
      const page = await bucket.list({ prefix: LEDGER_PREFIX, limit: 1000, cursor });
      const expired = page.objects.filter((o) => o.uploaded.getTime() < cutoff).map((o) => o.key);
      if (expired.length > 0) await bucket.delete(expired);
      removed += expired.length;
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    if (removed > 0) logger.debug("swept expired signature markers", { removed });
  };

  return {
    async claimOnce(key: string, retainSeconds: number): Promise<boolean> {
      checkKey(key);
      const created = await bucket.put(`${LEDGER_PREFIX}${key}`, new Uint8Array(0), {
        onlyIf: { etagDoesNotMatch: "*" },
      });
      if (created && now() - lastSweep > SWEEP_INTERVAL_MS) {
        lastSweep = now();
        await sweep(retainSeconds).catch((error) =>
          logger.warn("could not sweep expired signature markers", errorFields(error)),
        );
      }
      return created !== null;
    },

    async releaseClaim(key: string): Promise<void> {
      checkKey(key);
      await bucket.delete(`${LEDGER_PREFIX}${key}`);
    },
  };
}
