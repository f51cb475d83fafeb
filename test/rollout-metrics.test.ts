/**
 * The rollouts' metrics through the real metrics plugin and its exposition: iot_rollouts{state}
 * with every state present from boot (0 when none) and set from the counts taken at a
 * scrape, iot_rollout_device_outcomes_total{outcome} with every outcome at 0 from boot; no
 * label but those two, so never a MAC, a rollout's id or its name.
 */
import { describe, expect, it } from "vitest";
import { silentObserver } from "../src/core/observer.js";
import { DEVICE_OUTCOMES, ROLLOUT_STATES, type RolloutState } from "../src/features/rollouts/contract.js";
import { createMetrics } from "../src/plugins/metrics/index.js";

/** The exposition's samples of one family, as `labels value` lines. */
async function samples(metrics: ReturnType<typeof createMetrics>, family: string): Promise<string[]> {
  const { body } = await metrics.exposition();
  return body.split("\n").filter((line) => line.startsWith(`${family}{`) || line.startsWith(`${family} `));
}

describe("rollout metrics", () => {
  it("exposes every rollout state and every device outcome at 0 before any rollout", async () => {
    const metrics = createMetrics();
    expect(await samples(metrics, "iot_rollouts")).toEqual(
      ROLLOUT_STATES.map((state) => `iot_rollouts{state="${state}"} 0`),
    );
    expect(await samples(metrics, "iot_rollout_device_outcomes_total")).toEqual(
      DEVICE_OUTCOMES.map((outcome) => `iot_rollout_device_outcomes_total{outcome="${outcome}"} 0`),
    );
    const { body } = await metrics.exposition();
    expect(body).toContain("# TYPE iot_rollouts gauge");
    expect(body).toContain("# TYPE iot_rollout_device_outcomes_total counter");
  });

  it("shows the counts of the last scrape, a state gone back to 0 included", async () => {
    const metrics = createMetrics();
    const counts = (changes: Partial<Record<RolloutState, number>>) =>
      ({ ...Object.fromEntries(ROLLOUT_STATES.map((s) => [s, 0])), ...changes }) as Record<RolloutState, number>;
    metrics.observer.rolloutsCounted(counts({ running: 2, halted: 1 }));
    metrics.observer.rolloutsCounted(counts({ running: 1, completed: 1 }));
    const lines = await samples(metrics, "iot_rollouts");
    expect(lines).toContain('iot_rollouts{state="running"} 1');
    expect(lines).toContain('iot_rollouts{state="completed"} 1');
    expect(lines).toContain('iot_rollouts{state="halted"} 0');
    expect(lines).toHaveLength(ROLLOUT_STATES.length);
  });

  it("adds device outcomes as decisions count them, and nothing for a decision with none", async () => {
    const metrics = createMetrics();
    metrics.observer.rolloutDeviceOutcomes("released", 100);
    metrics.observer.rolloutDeviceOutcomes("released", 900);
    metrics.observer.rolloutDeviceOutcomes("applied", 97);
    metrics.observer.rolloutDeviceOutcomes("failed", 0);
    const lines = await samples(metrics, "iot_rollout_device_outcomes_total");
    expect(lines).toContain('iot_rollout_device_outcomes_total{outcome="released"} 1000');
    expect(lines).toContain('iot_rollout_device_outcomes_total{outcome="applied"} 97');
    expect(lines).toContain('iot_rollout_device_outcomes_total{outcome="failed"} 0');
    expect(lines).toHaveLength(DEVICE_OUTCOMES.length);
  });

  it("has no-op versions in silentObserver, for apps and tests without metrics", () => {
    expect(() => silentObserver.rolloutsCounted({} as Record<RolloutState, number>)).not.toThrow();
    expect(() => silentObserver.rolloutDeviceOutcomes("applied", 3)).not.toThrow();
  });
});
