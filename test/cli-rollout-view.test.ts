/**
 * What iot-rollout takes for a rollout (src/cli/rollout-view.ts): SPEC's shape, checked before
 * anything is printed or decided from it, and each wave's `counts` (the server's extension)
 * kept only when they add up and fit in the wave.
 */
import { describe, expect, it } from "vitest";
import { rolloutOfText } from "../src/cli/rollout-view.js";
import { rolloutFixture, withoutWaveCounts } from "./support/rollout-fixture.js";

describe("what counts as a rollout", () => {
  it("accepts SPEC's shape and refuses what is not one", () => {
    const good = rolloutFixture();
    expect(rolloutOfText(JSON.stringify(good))).toEqual(good);
    const bad: Array<Record<string, unknown>> = [
      { ...good, state: "exploded" },
      { ...good, id: 7 },
      { ...good, waves: [] },
      { ...good, waves: [{ percent: 100, devices: -1, released_at: null }] },
      { ...good, counts: { ...good.counts, failed: "3" } },
      { ...good, patch: [1] },
      { ...good, details: { skipped: [1] } },
    ];
    for (const value of bad) expect(rolloutOfText(JSON.stringify(value))).toBeUndefined();
    expect(rolloutOfText("<html>")).toBeUndefined();
  });

  it("keeps each wave's counts when they are whole and add up, takes a wave without them, refuses others", () => {
    const good = rolloutFixture();
    expect(rolloutOfText(JSON.stringify(good))?.waves[1]?.counts).toEqual({
      released: 90,
      applied: 71,
      failed: 2,
      pending: 17,
    });
    const plain = withoutWaveCounts(good);
    expect(rolloutOfText(JSON.stringify(plain))).toEqual(plain);
    const wave = (counts: unknown) => ({ ...good, waves: [{ percent: 100, devices: 10, released_at: null, counts }] });
    for (const counts of [
      { released: 10, applied: 9, failed: 0, pending: 0 },
      { released: 11, applied: 11, failed: 0, pending: 0 },
      { released: 10, applied: -1, failed: 1, pending: 10 },
      { released: 10, applied: "10", failed: 0, pending: 0 },
      [10, 10, 0, 0],
      null,
    ]) {
      expect(rolloutOfText(JSON.stringify(wave(counts)))).toBeUndefined();
    }
    // Fields a newer server may add to a wave's counts are left out, not passed on.
    const extra = rolloutOfText(JSON.stringify(wave({ released: 10, applied: 10, failed: 0, pending: 0, skipped: 3 })));
    expect(extra?.waves[0]?.counts).toEqual({ released: 10, applied: 10, failed: 0, pending: 0 });
  });
});
