/** The rollout phase's part of the report (--rollout): what went wrong with it, and its lines for a person. */
import type { RolloutOutcome } from "./rollout.js";
import { countsText } from "./rollout.js";

const seconds = (ms: number | null) => (ms === null ? "n/a" : `${(ms / 1000).toFixed(1)} s`);

/** Reasons the run failed because of the rollout phase; what the rollout decided is a figure, not a failure. */
export function rolloutProblems(rollout: RolloutOutcome | null): string[] {
  if (!rollout) return [];
  if (rollout.id === null) return ["the rollout could not be created (POST /api/rollouts; see the HTTP errors)"];
  const problems: string[] = [];
  if (rollout.timedOut) {
    problems.push(
      `rollout ${rollout.id} was still ${rollout.state} at the deadline` +
        (rollout.counts ? ` (${countsText(rollout.counts)})` : ""),
    );
  }
  if (rollout.changed === null) problems.push("the fleet view could not be read before and after the rollout");
  return problems;
}

export function formatRollout(r: RolloutOutcome): string[] {
  const plan = r.plan;
  const how =
    `waves ${plan.waves.join(", ")} %, evidence ${plan.evidence}, advance at ${plan.appliedPercent} % applied` +
    ` within ${plan.withinSeconds} s, halt at ${plan.failedPercent} % failed, fail share ${plan.failShare}`;
  if (r.id === null) return [`rollout:                 NOT created (${how})`];
  const end = r.timedOut
    ? "still running at the deadline"
    : `${r.state}${r.stalled ? " (stalled: under both thresholds, waits for an operator)" : ""} after ${seconds(r.endedAfterMs)}`;
  const lines = [`rollout:                 ${r.id} ${end} (${how})`];
  const lastReleased = r.waves.findLastIndex((w) => w.releasedAfterMs !== null);
  r.waves.forEach((wave, k) => {
    const head = `  wave ${k + 1} (${wave.percent} %, ${wave.devices} devices, ${wave.failing} set to fail):`;
    if (wave.releasedAfterMs === null) {
      lines.push(`${head} not released`);
      return;
    }
    const next = k === lastReleased ? "to the end" : "to the next release";
    lines.push(`${head} released at +${seconds(wave.releasedAfterMs)}, ${seconds(wave.msToNext)} ${next}`);
  });
  if (r.counts) lines.push(`rollout counts:          ${countsText(r.counts)}`);
  lines.push(
    r.changed
      ? `rollout changed:         ${r.changed.percent.toFixed(1)} % of devices (${r.changed.devices} of ${r.changed.of} config ETags differ in the fleet view)`
      : "rollout changed:         n/a (the fleet view could not be read)",
  );
  return lines;
}
