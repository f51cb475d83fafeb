/**
 * Rolling a rollout back, in the request that asks for it (or, if that process stopped, by the
 * one that takes it over): every part row the rollout released is looked at, and its device's
 * config is saved back to the previous content (with its notification, as a PUT would) when it
 * still holds what the rollout wrote. A device already at its previous content (never saved,
 * or restored by an earlier attempt) is done; any other ETag means the config was changed after
 * the rollout wrote it, and it is left alone and listed as skipped. Idempotent, so resuming it
 * after a crash does no harm.
 */
import { eachLimited, etagOf, keepHeartbeat, readCurrent, saveConfig, type WorkContext } from "./device-writes.js";
import { waveBounds } from "./outcomes.js";
import type { WaveProgress } from "./rollout-fold.js";
import type { PartRow } from "./rollout-parts.js";
import type { Definition } from "./rollout-records.js";

export interface RollbackResult {
  /** Sorted MACs left alone. */
  skipped: string[];
  restored: number;
}

/** Every row written for the claimed waves, read fresh (a release may have written parts up to its stop). */
export async function releasedRows(ctx: WorkContext, def: Definition, waves: readonly WaveProgress[]) {
  const bounds = waveBounds(def);
  const rows: PartRow[] = [];
  for (let i = 0; i < waves.length; i++) {
    const claim = waves[i]?.claimSeq;
    if (claim == null) continue;
    const [start, end] = bounds[i] as [number, number];
    rows.push(...(await ctx.log.parts(def, i + 1, claim, def.spec.targets.slice(start, end), true)).rows);
  }
  return rows;
}

export async function rollBack(
  ctx: WorkContext,
  def: Definition,
  waves: readonly WaveProgress[],
  claimSeq: number,
): Promise<RollbackResult> {
  const stopBeating = keepHeartbeat(ctx, def, claimSeq);
  try {
    const rows = await releasedRows(ctx, def, waves);
    const skipped: string[] = [];
    let restored = 0;
    await eachLimited(rows, async (row) => {
      if (row.etag === null || row.previous === null) return true;
      const current = await readCurrent(ctx, row.mac);
      if (current.etag === row.etag) {
        if (await saveConfig(ctx, row.mac, row.previous, "rollback")) restored++;
        else skipped.push(row.mac);
        return true;
      }
      // Restored already: the exact previous bytes, or the previous content as the config store writes it.
      if (current.etag === row.previous_etag || current.etag === (await etagOf(row.previous)).etag) return true;
      skipped.push(row.mac);
      return true;
    });
    return { skipped: skipped.sort(), restored };
  } finally {
    stopBeating();
  }
}
