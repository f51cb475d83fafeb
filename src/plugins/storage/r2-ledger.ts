/**
 * One-time markers in R2 (used upload signatures): one empty object per key, written
 * with a conditional PUT (`onlyIf: etagDoesNotMatch "*"`, i.e. If-None-Match: *) that R2
 * applies as one step, so exactly one of any number of isolates wins. The markers sit
 * under a prefix outside `configs/` and `assets/`, never listed or served.
 *
 * Each marker carries its own expiry (custom metadata `expires_at`, written in the same
 * PUT), so an isolate with a short TIMESTAMP_TOLERANCE_SECONDS never deletes the markers
 * of a Worker with a longer one on the same bucket. Markers from before (no metadata)
 * are kept for the longest retention any Worker could have used. Expired markers are
 * deleted now and then by the isolate that happens to claim one; a bucket lifecycle rule
 * on the prefix is the belt to those braces (see wrangler.toml).
 */
import type { R2Bucket, R2Object } from "@cloudflare/workers-types/2023-07-01/index.js";
import { errorFields, type Logger } from "../../core/logger.js";
import { LONGEST_SIGNATURE_RETAIN_SECONDS } from "../../core/signature-retention.js";
import { CLAIM_KEY } from "../../core/storage.js";

export const LEDGER_PREFIX = ".iotsupport-state/signatures/";
/** At most one sweep of expired markers per this many milliseconds per isolate. */
const SWEEP_INTERVAL_MS = 10 * 60_000;

/** When a marker may be forgotten: its recorded expiry, or for an old one, the longest retention after it was stored. */
function expiryOf(marker: R2Object): number {
  const recorded = Date.parse(marker.customMetadata?.expires_at ?? "");
  return Number.isFinite(recorded) ? recorded : marker.uploaded.getTime() + LONGEST_SIGNATURE_RETAIN_SECONDS * 1000;
}

export function createR2Ledger(bucket: R2Bucket, logger: Logger, now = Date.now) {
  let lastSweep = Number.NEGATIVE_INFINITY;

  const checkKey = (key: string) => {
    if (!CLAIM_KEY.test(key)) throw new Error("claim keys are hex digests");
  };

  const sweep = async () => {
    const at = now();
    let cursor: string | undefined;
    let removed = 0;
    do {
      const page = await bucket.list({ prefix: LEDGER_PREFIX, limit: 1000, cursor, include: ["customMetadata"] });
      const expired = page.objects.filter((o) => expiryOf(o) < at).map((o) => o.key);
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
        customMetadata: { expires_at: new Date(now() + retainSeconds * 1000).toISOString() },
      });
      if (created && now() - lastSweep > SWEEP_INTERVAL_MS) {
        lastSweep = now();
        await sweep().catch((error) => logger.warn("could not sweep expired signature markers", errorFields(error)));
      }
      return created !== null;
    },

    async releaseClaim(key: string): Promise<void> {
      checkKey(key);
      await bucket.delete(`${LEDGER_PREFIX}${key}`);
    },
  };
}
