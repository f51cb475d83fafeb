/**
 * The rollout phase of `npm run fleet -- --rollout` (issue 20, point 6), played once the
 * fleet has converged on its own configs: create one rollout through the API over every
 * simulated device (in fleet order), watch GET /api/rollouts/{id} until it ends, and
 * compare every device's config ETag in the fleet view before and after, so the share of
 * the fleet that changed is the server's own figure, not the rollout's word for it. The
 * devices do the rest by themselves: notified of their new config, they fetch it and
 * report ok, or `failed` for the share chosen by rollout-plan.ts.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { RolloutCounts, RolloutState, RolloutView } from "../../src/features/rollouts/contract.js";
import type { Admin } from "./admin.js";
import { now } from "./clock.js";
import { throwIfAborted } from "./errors.js";
import { failsRollout, type RolloutPlan, rolloutMarker, waveSizes } from "./rollout-plan.js";

/** The view is one small object; a tenth of a second keeps the end's time within a poll of the truth. */
const POLL_MS = 100;
const PROGRESS_EVERY_MS = 5000;

export interface RolloutWaveOutcome {
  percent: number;
  devices: number;
  /** Devices of this wave that will report failed (rollout-plan.ts's hash). */
  failing: number;
  /** Milliseconds from the rollout's creation to this wave's released_at; null when never released. */
  releasedAfterMs: number | null;
  /** From this wave's release to the next one's, or (last released wave) to the end of the rollout. */
  msToNext: number | null;
}

export interface RolloutOutcome {
  id: string | null;
  plan: RolloutPlan;
  /** The last state seen; null when the rollout could not be created. */
  state: RolloutState | null;
  counts: RolloutCounts | null;
  waves: RolloutWaveOutcome[];
  /** From the create request to the poll that saw the rollout end (or stall); null when it did not. */
  endedAfterMs: number | null;
  /** Running with every wave released and none pending: under both thresholds, it will not end by itself. */
  stalled: boolean;
  timedOut: boolean;
  /** Our devices whose config ETag in the fleet view differs after the rollout from before it. */
  changed: { devices: number; of: number; percent: number } | null;
}

export interface RolloutDeps {
  admin: Admin;
  plan: RolloutPlan;
  macs: readonly string[];
  runId: string;
  timeoutMs: number;
  signal?: AbortSignal;
  log(line: string): void;
}

/** How long a running rollout must look stuck before the watch believes it (the engine decides every 0.5 s). */
const STALL_MS = 3000;

/**
 * Running, every wave released, none pending, and neither threshold met nor every device
 * applied: SPEC's `completed` needs every target applied, so it stays running until an operator acts.
 */
function stuck(view: RolloutView, plan: RolloutPlan): boolean {
  const c = view.counts;
  return (
    view.state === "running" &&
    view.waves.every((w) => w.released_at !== null) &&
    c.pending === 0 &&
    c.applied < c.targets &&
    c.failed * 100 < plan.failedPercent * c.released
  );
}

export async function runRollout(deps: RolloutDeps): Promise<RolloutOutcome> {
  const { admin, plan, macs, log } = deps;
  const sizes = waveSizes(plan.waves, macs.length);
  let first = 0;
  const waves: RolloutWaveOutcome[] = plan.waves.map((percent, k) => {
    const devices = sizes[k] as number;
    const slice = macs.slice(first, first + devices);
    first += devices;
    const failing = slice.filter((mac) => failsRollout(mac, plan.failShare)).length;
    return { percent, devices, failing, releasedAfterMs: null, msToNext: null };
  });
  const outcome: RolloutOutcome = {
    id: null,
    plan,
    state: null,
    counts: null,
    waves,
    endedAfterMs: null,
    stalled: false,
    timedOut: false,
    changed: null,
  };
  const before = await etagsOf(admin, macs);
  const marker = rolloutMarker(deps.runId);
  log(
    `rollout over ${macs.length} devices, waves ${plan.waves.join(", ")} % (${sizes.join(", ")} devices), ` +
      `${waves.reduce((n, w) => n + w.failing, 0)} set to fail (${waves.map((w) => w.failing).join(", ")} per wave)`,
  );
  const createdAt = now();
  const created = await admin.createRollout({
    name: `fleet-${deps.runId}`,
    // Firmware rides on configs: the patch names the image a device should run (the run's upload).
    patch: { firmware: { filename: `fleet-${deps.runId}.bin`, version: marker } },
    targets: macs,
    waves: plan.waves,
    evidence: plan.evidence,
    advance_when: { applied_percent: plan.appliedPercent, within_s: plan.withinSeconds },
    halt_when: { failed_percent: plan.failedPercent },
  });
  if (!created) return outcome;
  outcome.id = created.id;
  let view = created;
  const deadline = createdAt + deps.timeoutMs;
  let lastProgress = now();
  let stuckSince: number | undefined;
  for (;;) {
    absorb(outcome, view, createdAt);
    if (view.state !== "running") break;
    stuckSince = stuck(view, plan) ? (stuckSince ?? now()) : undefined;
    if (stuckSince !== undefined && now() - stuckSince >= STALL_MS) break;
    throwIfAborted(deps.signal);
    if (now() > deadline) {
      outcome.timedOut = true;
      log(`rollout ${view.id}: still ${view.state} after ${deps.timeoutMs / 1000} s`);
      break;
    }
    if (now() - lastProgress > PROGRESS_EVERY_MS) {
      lastProgress = now();
      log(`rollout ${view.id}: ${view.state}, ${countsText(view.counts)}`);
    }
    await sleep(POLL_MS);
    view = (await admin.getRollout(created.id)) ?? view;
  }
  if (!outcome.timedOut) {
    outcome.stalled = view.state === "running";
    // A stalled rollout ended when it first looked stuck, not when the watch was sure of it.
    outcome.endedAfterMs = (outcome.stalled && stuckSince !== undefined ? stuckSince : now()) - createdAt;
    const last = waves.findLast((w) => w.releasedAfterMs !== null);
    if (last && last.releasedAfterMs !== null) last.msToNext = outcome.endedAfterMs - last.releasedAfterMs;
  }
  log(`rollout ${view.id}: ${view.state}${outcome.stalled ? " (stalled)" : ""}, ${countsText(view.counts)}`);
  const after = await etagsOf(admin, macs);
  if (before && after) {
    const devices = macs.filter((mac) => before.get(mac) !== after.get(mac)).length;
    outcome.changed = { devices, of: macs.length, percent: Math.round((devices / macs.length) * 1000) / 10 };
  }
  return outcome;
}

/** The view's state, counts and release times into the outcome. */
function absorb(outcome: RolloutOutcome, view: RolloutView, createdAt: number): void {
  outcome.state = view.state;
  outcome.counts = view.counts;
  const released = view.waves.map((w) => (w.released_at === null ? null : Date.parse(w.released_at) - createdAt));
  outcome.waves.forEach((wave, k) => {
    wave.releasedAfterMs = released[k] ?? null;
    const next = released[k + 1];
    if (wave.releasedAfterMs !== null && next !== null && next !== undefined) {
      wave.msToNext = next - wave.releasedAfterMs;
    }
  });
}

/** Each of our devices' config ETag in the fleet view; undefined when the view could not be read. */
async function etagsOf(admin: Admin, macs: readonly string[]): Promise<Map<string, string | null> | undefined> {
  const rows = await admin.listDevices();
  if (!rows) return undefined;
  const ours = new Set(macs);
  return new Map(rows.filter((row) => ours.has(row.mac_address)).map((row) => [row.mac_address, row.config_etag]));
}

export const countsText = (c: RolloutCounts) =>
  `${c.released}/${c.targets} released, ${c.applied} applied, ${c.failed} failed, ${c.pending} pending`;
