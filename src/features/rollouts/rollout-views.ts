/**
 * The read side of the engine: a rollout's folded state from its log (events not allowed in
 * their state logged once), its outcome counts from the part records and the fleet records,
 * and the view the API answers. Shared by the routes' reads, the decisions of a tick, and the
 * metrics' counts.
 */
import { notFound } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import type { DeviceRecord } from "../fleet/fleet-memory.js";
import type { FleetRecords } from "../fleet/fleet-records.js";
import type { RolloutCounts, RolloutView, WaveCounts } from "./contract.js";
import { countOutcomes, waveBounds } from "./outcomes.js";
import { type Folded, fold } from "./rollout-fold.js";
import type { RolloutLog } from "./rollout-log.js";
import type { PartRow } from "./rollout-parts.js";
import { type Definition, logNamespace, ROLLOUT_ID } from "./rollout-records.js";

/** While a rollout runs, others' reports are looked for at least this often (SPEC: decided within 2 s). */
export const REPORTS_MAX_AGE_MS = 1000;

export interface Snapshot {
  def: Definition;
  folded: Folded;
}

export interface RolloutViews {
  /** The definition with this API id; RECORD_NOT_FOUND for any other id, well-formed or not. */
  definition(id: string): Promise<Definition>;
  snapshot(def: Definition, fresh?: boolean): Promise<Snapshot>;
  counts(snapshot: Snapshot, devices?: ReadonlyMap<string, DeviceRecord>): Promise<RolloutCounts>;
  view(snapshot: Snapshot, devices?: ReadonlyMap<string, DeviceRecord>): Promise<RolloutView>;
  /** What the fleet records know now (others' reports at most REPORTS_MAX_AGE_MS old). */
  devices(): Promise<ReadonlyMap<string, DeviceRecord>>;
}

export function createRolloutViews(options: {
  log: RolloutLog;
  records: Pick<FleetRecords, "devices">;
  logger: Logger;
  now: () => number;
}): RolloutViews {
  const { log, records, logger, now } = options;
  const ignored = new Set<string>();

  const devices = () => records.devices({ maxAgeMs: REPORTS_MAX_AGE_MS });

  const rowsByWave = async ({ def, folded }: Snapshot): Promise<PartRow[][]> => {
    const bounds = waveBounds(def);
    return Promise.all(
      folded.waves.map(async (wave, i) => {
        if (wave.claimSeq === null) return [];
        const [start, end] = bounds[i] as [number, number];
        return (await log.parts(def, i + 1, wave.claimSeq, def.spec.targets.slice(start, end))).rows;
      }),
    );
  };

  const counts = async (snapshot: Snapshot, known?: ReadonlyMap<string, DeviceRecord>) =>
    countOutcomes(snapshot.def, snapshot.folded.waves, await rowsByWave(snapshot), known ?? (await devices()), now());

  /**
   * The totals and each wave's share of them, from one read of the rows and one instant, so
   * the waves add up to the totals: each wave is countOutcomes over that wave alone (the
   * others masked as unclaimed), the same rules as the totals, not a second copy of them.
   */
  const countsByWave = async (snapshot: Snapshot, known?: ReadonlyMap<string, DeviceRecord>) => {
    const { def, folded } = snapshot;
    const rows = await rowsByWave(snapshot);
    const fleet = known ?? (await devices());
    const at = now();
    const total = countOutcomes(def, folded.waves, rows, fleet, at);
    const waves = def.spec.waves.map((_, i): WaveCounts => {
      const only = folded.waves.map((w, j) => (j === i ? w : { ...w, claimedAt: null }));
      const { released, applied, failed, pending } = countOutcomes(def, only, rows, fleet, at);
      return { released, applied, failed, pending };
    });
    return { total, waves };
  };

  return {
    async definition(id) {
      const def = ROLLOUT_ID.test(id) ? (await log.definitions()).get(Number(id)) : undefined;
      if (!def) throw notFound(`Rollout ${id.slice(0, 20)} not found`, { rollout_id: id.slice(0, 20) });
      return def;
    },

    async snapshot(def, fresh = false) {
      const folded = fold(def.spec.waves.length, await log.events(def, fresh));
      for (const seq of folded.ignored) {
        const key = `${def.id}:${seq}`;
        if (ignored.has(key)) continue;
        ignored.add(key);
        // A race lost by its writer, or a record placed by others: it changes nothing, said once.
        logger.info("a rollout event not allowed in its state is ignored", { ns: logNamespace(def.id), seq });
      }
      return { def, folded };
    },

    counts,

    async view(snapshot, known) {
      const { def, folded } = snapshot;
      const bounds = waveBounds(def);
      const counted = await countsByWave(snapshot, known);
      return {
        id: String(def.id),
        name: def.name,
        state: folded.state,
        created_at: def.created_at,
        patch: def.spec.patch,
        evidence: def.spec.evidence,
        advance_when: def.spec.advance_when,
        halt_when: def.spec.halt_when,
        waves: def.spec.waves.map((percent, i) => {
          const [start, end] = bounds[i] as [number, number];
          const at = folded.waves[i]?.claimedAt;
          const released_at = at == null ? null : new Date(at).toISOString();
          return { percent, devices: end - start, released_at, counts: counted.waves[i] as WaveCounts };
        }),
        counts: counted.total,
      };
    },

    devices,
  };
}
