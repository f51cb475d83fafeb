/**
 * Rollouts built by hand in SPEC's *rollout* shape ("Rollouts": id, name, state, created_at,
 * patch, evidence, advance_when, halt_when, waves, counts), for the CLI's rendering tests and
 * for hostile servers that answer with them.
 */
import type { RolloutView } from "../../src/features/rollouts/contract.js";

/**
 * 1,000 targets in waves 1, 10, 50, 100 %: two released, 100 devices out, 80 applied, 3 failed
 * (wave 1: 9 applied, 1 failed; wave 2: 71 applied, 2 failed, 17 pending). Each wave has the
 * server's per-wave `counts` (an extension of SPEC's wave); `withoutWaveCounts` takes them out.
 */
const NONE = { released: 0, applied: 0, failed: 0, pending: 0 };

/** A rollout as a server without per-wave counts (SPEC's wave only) answers it. */
export function withoutWaveCounts(view: RolloutView): RolloutView {
  return { ...view, waves: view.waves.map(({ percent, devices, released_at }) => ({ percent, devices, released_at })) };
}

/** The fixture's advance_when and halt_when as iot-rollout create's options. */
export const FIXTURE_CONDITIONS_ARGV = ["--advance-applied", "90", "--within", "600", "--halt-failed", "10"];

export function rolloutFixture(over: Partial<RolloutView> = {}): RolloutView {
  return {
    id: "7",
    name: "firmware 1.4.2",
    state: "running",
    created_at: "2026-07-04T12:00:00.000Z",
    patch: { firmware: { version: "1.4.2" } },
    evidence: "report",
    advance_when: { applied_percent: 90, within_s: 600 },
    halt_when: { failed_percent: 10 },
    waves: [
      {
        percent: 1,
        devices: 10,
        released_at: "2026-07-04T12:00:00.000Z",
        counts: { released: 10, applied: 9, failed: 1, pending: 0 },
      },
      {
        percent: 10,
        devices: 90,
        released_at: "2026-07-04T12:00:09.000Z",
        counts: { released: 90, applied: 71, failed: 2, pending: 17 },
      },
      { percent: 50, devices: 400, released_at: null, counts: NONE },
      { percent: 100, devices: 500, released_at: null, counts: NONE },
    ],
    counts: { targets: 1000, released: 100, applied: 80, failed: 3, pending: 17 },
    ...over,
  };
}
