/**
 * Each wave's `counts` in a rollout's answer (an extension of SPEC's wave, for the CLI's bar
 * per wave): the wave's devices by outcome, by the same rules as the rollout's counts, so the
 * waves add up to the totals. Over the real app on filesystem storage (GET /api/rollouts/{id}),
 * devices fetching and reporting through the HTTP routes; the engine's ticks are driven by the
 * test, so each assertion follows one decision.
 */
import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RolloutView } from "../src/features/rollouts/contract.js";
import { Rollout } from "../src/features/rollouts/schemas.js";
import { createTestApp, type TestApp } from "./support/app.js";
import { macs, report, saveConfigs, stored } from "./support/rollouts.js";

const TOKEN = "wave-counts-admin-token-0123456789abcdef";
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const targets = macs(10);

describe("per-wave counts", () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp("fs", { API_TOKEN_HASHES: createHash("sha256").update(TOKEN).digest("hex") });
    await saveConfigs(t, targets, (mac) => ({ deviceName: mac, firmware: { version: "1.0" } }), AUTH);
  });
  afterEach(async () => {
    await t.deps.rollouts.close();
    await t.cleanup();
  });

  const get = async (): Promise<RolloutView> => {
    const res = await t.app.request("/api/rollouts/1", { headers: AUTH });
    expect(res.status).toBe(200);
    const view = (await res.json()) as RolloutView;
    // The OpenAPI schema documents the extension: the answer is what it says.
    expect(Rollout.safeParse(view).success).toBe(true);
    return view;
  };
  /** Ticks until the rollout's answer satisfies `done`. */
  const until = async (done: (v: RolloutView) => boolean): Promise<RolloutView> => {
    for (let i = 0; i < 200; i++) {
      const view = await get();
      if (done(view)) return view;
      await t.deps.rollouts.tick();
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("condition not reached");
  };
  /** Each device reads its config and reports `state` with the ETag it read. */
  const play = async (devices: string[], state: "ok" | "failed") => {
    for (const mac of devices) {
      const { etag } = await stored(t, mac);
      expect((await report(t, mac, { state, config_etag: etag })).status).toBe(204);
    }
  };
  const sum = (view: RolloutView) =>
    view.waves.reduce(
      (a, w) => ({
        released: a.released + (w.counts?.released ?? 0),
        applied: a.applied + (w.counts?.applied ?? 0),
        failed: a.failed + (w.counts?.failed ?? 0),
        pending: a.pending + (w.counts?.pending ?? 0),
      }),
      { released: 0, applied: 0, failed: 0, pending: 0 },
    );
  /** Ticks until the wave's saves (which continue after the answer) reached each of `devices`. */
  const saved = async (devices: string[]) => {
    for (let i = 0; i < 200; i++) {
      const versions = await Promise.all(devices.map(async (mac) => JSON.parse((await stored(t, mac)).text).firmware));
      if (versions.every((f) => f.version === "2.0")) return;
      await t.deps.rollouts.tick();
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("the wave was not saved");
  };

  it("split the rollout's counts by wave, and add up to them", async () => {
    const res = await t.app.request("/api/rollouts", {
      method: "POST",
      headers: { ...AUTH, "Content-Type": "application/json" },
      body: JSON.stringify({
        name: "fw 2.0",
        patch: { firmware: { version: "2.0" } },
        targets,
        waves: [20, 60, 100],
        advance_when: { applied_percent: 50, within_s: 600 },
        halt_when: { failed_percent: 50 },
      }),
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as RolloutView;
    expect(created.waves.map((w) => w.counts)).toEqual([
      { released: 2, applied: 0, failed: 0, pending: 2 },
      { released: 0, applied: 0, failed: 0, pending: 0 },
      { released: 0, applied: 0, failed: 0, pending: 0 },
    ]);

    // Wave 1 (2 devices): one applies, which is 50 %: wave 2 (4 devices) goes out.
    await saved(targets.slice(0, 2));
    await play(targets.slice(0, 1), "ok");
    const second = await until((v) => v.waves[1]?.released_at !== null);
    expect(second.waves[0]?.counts).toEqual({ released: 2, applied: 1, failed: 0, pending: 1 });

    // Wave 2 (4 devices): one applies, one fails (after its release), two say nothing yet:
    // 2 of 6 applied and 1 of 6 failed, so wave 3 waits and nothing halts.
    const wave2 = targets.slice(2, 6);
    await saved(wave2);
    await play(wave2.slice(0, 1), "ok");
    await play(wave2.slice(1, 2), "failed");
    const view = await until((v) => v.waves[1]?.counts?.failed === 1 && v.waves[1]?.counts?.applied === 1);
    expect(view.state).toBe("running");
    expect(view.waves.map((w) => w.counts)).toEqual([
      { released: 2, applied: 1, failed: 0, pending: 1 },
      { released: 4, applied: 1, failed: 1, pending: 2 },
      { released: 0, applied: 0, failed: 0, pending: 0 },
    ]);
    expect(view.counts).toEqual({ targets: 10, released: 6, applied: 2, failed: 1, pending: 3 });
    const { released, applied, failed, pending } = view.counts;
    expect(sum(view)).toEqual({ released, applied, failed, pending });
  });
});
