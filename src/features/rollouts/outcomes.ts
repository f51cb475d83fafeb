/**
 * What became of each released device, from the fleet records (what devices fetched and
 * report) and the part records (which ETag the rollout wrote): applied, failed or pending,
 * by SPEC's rules. Pure, so every process sharing the storage decides the same from the same
 * records; the counts feed both the decisions (engine.ts) and the view.
 */
import type { DeviceRecord } from "../fleet/fleet-memory.js";
import type { RolloutCounts } from "./contract.js";
import type { WaveProgress } from "./rollout-fold.js";
import { bareEtag, type PartRow } from "./rollout-parts.js";
import type { Definition } from "./rollout-records.js";

export type Outcome = "applied" | "failed" | "pending";

/** The end (exclusive) of wave k's devices in the target list: ceil(p_k × N / 100), in integers. */
export const waveEnd = (percent: number, targets: number) => Math.floor((percent * targets + 99) / 100);

/** Each wave's [start, end) in the target list; a wave may be empty (few targets, close percentages). */
export function waveBounds(def: Definition): Array<[number, number]> {
  const n = def.spec.targets.length;
  return def.spec.waves.map((p, i) => [i === 0 ? 0 : waveEnd(def.spec.waves[i - 1] as number, n), waveEnd(p, n)]);
}

/** One released device's outcome by SPEC's rules. */
export function outcomeOf(
  row: PartRow,
  wave: WaveProgress,
  device: DeviceRecord | undefined,
  def: Definition,
  now: number,
): Outcome {
  if (row.etag === null) return "failed";
  const wrote = bareEtag(row.etag);
  const report = device?.report;
  if (report?.report.state === "ok" && bareEtag(report.report.config_etag) === wrote) return "applied";
  // A failure the device reports after its release outweighs a fetch: fetching an image is not running it.
  if (report?.report.state === "failed" && wave.claimedAt !== null && report.at > wave.claimedAt) return "failed";
  if (def.spec.evidence === "fetch" && bareEtag(device?.fetch?.etag) === wrote) return "applied";
  if (wave.savedAt !== null && now > wave.savedAt + def.spec.advance_when.within_s * 1000) return "failed";
  return "pending";
}

/**
 * The counts over every claimed wave: `released` is every device of a claimed wave (those whose
 * part is not written yet are pending), applied and failed from their rows.
 */
export function countOutcomes(
  def: Definition,
  waves: readonly WaveProgress[],
  rowsByWave: ReadonlyArray<readonly PartRow[]>,
  devices: ReadonlyMap<string, DeviceRecord>,
  now: number,
): RolloutCounts {
  const bounds = waveBounds(def);
  const counts: RolloutCounts = { targets: def.spec.targets.length, released: 0, applied: 0, failed: 0, pending: 0 };
  waves.forEach((wave, i) => {
    if (wave.claimedAt === null) return;
    const [start, end] = bounds[i] as [number, number];
    counts.released += end - start;
    for (const row of rowsByWave[i] ?? []) {
      const outcome = outcomeOf(row, wave, devices.get(row.mac), def, now);
      if (outcome === "applied") counts.applied++;
      else if (outcome === "failed") counts.failed++;
    }
  });
  counts.pending = counts.released - counts.applied - counts.failed;
  return counts;
}

export type Decision = { type: "halt" | "complete" } | { type: "release"; wave: number } | undefined;

/**
 * SPEC's decision for a running rollout with no work in progress, in integers: halt when
 * failed × 100 ≥ failed_percent × released; complete when every wave is out and every target
 * applied; release the next wave when applied × 100 ≥ applied_percent × released.
 */
export function decide(def: Definition, claimed: number, counts: RolloutCounts): Decision {
  if (claimed === 0) return { type: "release", wave: 1 };
  const { released, applied, failed, targets } = counts;
  if (released > 0 && failed * 100 >= def.spec.halt_when.failed_percent * released) return { type: "halt" };
  if (claimed === def.spec.waves.length) return applied === targets ? { type: "complete" } : undefined;
  if (applied * 100 >= def.spec.advance_when.applied_percent * released) return { type: "release", wave: claimed + 1 };
  return undefined;
}
