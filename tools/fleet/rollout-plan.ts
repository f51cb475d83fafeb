/**
 * What `--rollout` asks for (issue 20, point 6): after the fleet has converged on its own
 * configs, one rollout through the API over every simulated device, in cumulative waves,
 * with a chosen share of the devices failing to apply it. Which devices fail is decided
 * by a hash of the MAC, so the driver (which predicts per wave how many will) and the
 * devices (in this process or in shards) agree without talking.
 */
import { createHash } from "node:crypto";
import { FleetError } from "./errors.js";

export const ROLLOUT_EVIDENCE = ["report", "fetch"] as const;
export type RolloutEvidence = (typeof ROLLOUT_EVIDENCE)[number];

export interface RolloutPlan {
  /** Cumulative percentages, strictly increasing, ending at 100 (SPEC). */
  waves: number[];
  /** Share of the devices (0–1) that report `failed` for the rollout's config. */
  failShare: number;
  evidence: RolloutEvidence;
  /** advance_when.applied_percent */
  appliedPercent: number;
  /** advance_when.within_s */
  withinSeconds: number;
  /** halt_when.failed_percent */
  failedPercent: number;
}

export const ROLLOUT_DEFAULTS = {
  waves: [1, 10, 50, 100],
  failShare: 0,
  evidence: "report",
  appliedPercent: 90,
  withinSeconds: 300,
  failedPercent: 10,
} as const satisfies RolloutPlan;

/** A string only the rollout's patch holds: a device that fetches a config with it got the rollout's config. */
export const rolloutMarker = (runId: string) => `sim-rollout-${runId}`;

/** Whether this device fails to apply the rollout's config: the first 4 bytes of SHA-256(mac) below the share. */
export function failsRollout(mac: string, failShare: number): boolean {
  if (failShare <= 0) return false;
  const hash = createHash("sha256").update(mac).digest().readUInt32BE(0);
  return hash / 2 ** 32 < failShare;
}

/** The devices each wave releases (not cumulative), as SPEC counts them: the first ceil(p × N / 100). */
export function waveSizes(waves: number[], targets: number): number[] {
  let before = 0;
  return waves.map((percent) => {
    const upTo = Math.ceil((percent * targets) / 100);
    const size = upTo - before;
    before = upTo;
    return size;
  });
}

/** "1,10,50,100" → [1, 10, 50, 100]; refuses what the server would (so the run fails before it starts anything). */
export function parseWaves(text: string): number[] {
  const waves = text.split(",").map((part) => part.trim());
  if (waves.some((part) => !/^\d+$/.test(part))) {
    throw new FleetError("USAGE", `--waves must be whole percentages separated by commas, not "${text}"`);
  }
  return waves.map(Number);
}

export function checkPlan(plan: RolloutPlan): void {
  const { waves } = plan;
  const increasing = waves.every((p, i) => i === 0 || p > (waves[i - 1] as number));
  if (waves.length === 0 || !increasing || waves.some((p) => p < 1 || p > 100) || waves.at(-1) !== 100) {
    throw new FleetError("USAGE", "--waves must be strictly increasing percentages of 1–100 ending at 100");
  }
  if (!(plan.failShare >= 0 && plan.failShare <= 1)) throw new FleetError("USAGE", "--fail-share must be 0–1");
  if (!ROLLOUT_EVIDENCE.includes(plan.evidence)) {
    throw new FleetError("USAGE", `--evidence must be one of ${ROLLOUT_EVIDENCE.join(", ")}`);
  }
  for (const [flag, value] of [
    ["--advance-percent", plan.appliedPercent],
    ["--halt-percent", plan.failedPercent],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 100) throw new FleetError("USAGE", `${flag} must be 1–100`);
  }
  if (!Number.isInteger(plan.withinSeconds) || plan.withinSeconds < 1) {
    throw new FleetError("USAGE", "--within must be a positive whole number of seconds");
  }
}
