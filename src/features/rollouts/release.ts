/**
 * Releasing one wave, by the process whose `release` event (or `takeover`) claimed it, and
 * resumable by any other: part by part, each device's current config is read, the patched
 * content and its ETag computed, the part record written (create-only) and only then the
 * configs saved. A process resuming (after a crash, or taking over a stopped one) goes through
 * the parts already written idempotently: a device whose config has the ETag the rollout
 * writes is done; one still at its previous ETag is saved; one at any other ETag was changed by
 * someone meanwhile and is left alone (its outcome says what became of it). Two processes
 * racing for one part both end up with the part that was written first.
 *
 * `stillMine` is asked between batches: an abort, a rollback or a takeover by another process
 * ends the work there (within one batch of saves).
 */
import type { ConfigContent } from "../configs/store.js";
import {
  DEVICE_CONCURRENCY,
  eachLimited,
  etagOf,
  keepHeartbeat,
  readCurrent,
  saveConfig,
  type WorkContext,
} from "./device-writes.js";
import { waveBounds } from "./outcomes.js";
import { PART_BYTES, PART_DEVICES, type PartRow } from "./rollout-parts.js";
import type { Definition } from "./rollout-records.js";

/** Part numbers are 4 digits. */
const MAX_PART = 9999;

export type StillMine = () => Promise<boolean>;

/** Saves every device of the wave; false when stopped by `stillMine` before the end. */
export async function releaseWave(
  ctx: WorkContext,
  def: Definition,
  wave: number,
  claimSeq: number,
  stillMine: StillMine,
): Promise<boolean> {
  const [start, end] = waveBounds(def)[wave - 1] as [number, number];
  const devices = def.spec.targets.slice(start, end);
  const stopBeating = keepHeartbeat(ctx, def, claimSeq);
  try {
    let { rows, next } = await ctx.log.parts(def, wave, claimSeq, devices, true);
    if (!(await resume(ctx, def, rows, stillMine))) return false;
    while (rows.length < devices.length) {
      if (!(await stillMine())) return false;
      if (next > MAX_PART) throw new Error(`wave ${wave} of rollout ${def.id} has no free part number left`);
      const { part, patched } = await buildPart(ctx, def, devices, rows.length);
      if (await ctx.log.putPart(def, wave, claimSeq, next, part)) {
        if (!(await saveAll(ctx, part, (row) => patched.get(row.mac), stillMine))) return false;
        rows = [...rows, ...part];
        next++;
        continue;
      }
      // Another process wrote this part first (a takeover racing a slow original): theirs stands.
      const again = await ctx.log.parts(def, wave, claimSeq, devices, true);
      if (!(await resume(ctx, def, again.rows.slice(rows.length), stillMine))) return false;
      rows = again.rows;
      next = Math.max(again.next, next + 1);
    }
    return true;
  } finally {
    stopBeating();
  }
}

/** The next part's rows from device `from` on: at most PART_DEVICES, and PART_BYTES of previous content. */
async function buildPart(ctx: WorkContext, def: Definition, devices: readonly string[], from: number) {
  const part: PartRow[] = [];
  const patched = new Map<string, ConfigContent>();
  let bytes = 0;
  let at = from;
  while (at < devices.length && part.length < PART_DEVICES && bytes < PART_BYTES) {
    const batch = devices.slice(at, Math.min(devices.length, at + DEVICE_CONCURRENCY, from + PART_DEVICES));
    const rows = await Promise.all(
      batch.map(async (mac): Promise<PartRow> => {
        const current = await readCurrent(ctx, mac);
        if (!current.ok) return { mac, previous: null, previous_etag: null, etag: null, error: current.error };
        const content = ctx.mergePatch(current.content, def.spec.patch);
        const facts = await etagOf(content);
        if (facts.bytes > ctx.maxConfigBytes) {
          return {
            mac,
            previous: null,
            previous_etag: null,
            etag: null,
            error: "patched config is larger than MAX_CONFIG_BYTES",
          };
        }
        patched.set(mac, content);
        bytes += JSON.stringify(current.content).length;
        return { mac, previous: current.content, previous_etag: current.etag, etag: facts.etag };
      }),
    );
    part.push(...rows);
    at += batch.length;
  }
  return { part, patched };
}

/** Saves each released row's patched content; false when stopped. */
async function saveAll(
  ctx: WorkContext,
  rows: readonly PartRow[],
  content: (row: PartRow) => ConfigContent | undefined,
  stillMine: StillMine,
): Promise<boolean> {
  return eachLimited(rows, async (row, i) => {
    if (i > 0 && i % DEVICE_CONCURRENCY === 0 && !(await stillMine())) return false;
    const patched = row.etag === null ? undefined : content(row);
    if (patched) await saveConfig(ctx, row.mac, patched, "release");
    return true;
  });
}

/** Rows written before (by this process or another): each device saved unless it is done or was changed by others. */
async function resume(ctx: WorkContext, def: Definition, rows: readonly PartRow[], stillMine: StillMine) {
  const due = new Map<string, ConfigContent>();
  const checked = await eachLimited(rows, async (row, i) => {
    if (i > 0 && i % DEVICE_CONCURRENCY === 0 && !(await stillMine())) return false;
    if (row.etag === null || row.previous === null) return true;
    const current = await readCurrent(ctx, row.mac);
    if (current.etag === row.previous_etag) due.set(row.mac, ctx.mergePatch(row.previous, def.spec.patch));
    return true;
  });
  if (!checked) return false;
  return saveAll(ctx, rows, (row) => due.get(row.mac), stillMine);
}
