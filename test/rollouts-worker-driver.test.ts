/**
 * The engine as a Worker's isolate runs it (driver elsewhere: runtimes/worker-rollouts.ts), over
 * the app's real storage, configs and fleet records, with a second engine over the same storage
 * standing for the rollout driver (the Durable Object, which runs the engine as any process
 * does): the isolate records the definition and the API's actions only, wakes the driver after a
 * create, a resume and a rollback, never claims or saves a wave itself (not even when ticked),
 * and runs a rollback in its request. And the engine a Worker without the driver's binding gets:
 * every API call refused with the error given, counts still read from the storage.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AppError } from "../src/core/errors.js";
import { createRolloutsFor } from "../src/features/rollouts/assemble.js";
import type { Rollouts } from "../src/features/rollouts/contract.js";
import { createTestApp, type TestApp } from "./support/app.js";
import {
  engineOver,
  events,
  macs,
  released,
  report,
  saveConfigs,
  spec,
  stored,
  tickUntil,
} from "./support/rollouts.js";

const ISOLATE = "a1";
const DRIVER = "d1";
const original = (mac: string) => ({ deviceName: mac, firmware: { version: "1.0" } });

/** An engine over the app's storage; with `driver`, one whose waves are claimed elsewhere. */
const engine = (t: TestApp, processId: string, driver?: { wake: () => Promise<void> }): Rollouts =>
  engineOver(t, { processId, driver }).engine;

describe("rollouts with the driver elsewhere (a Worker's isolate)", () => {
  let t: TestApp;
  let driver: Rollouts;
  let isolate: Rollouts;
  let wakes: number;
  beforeEach(async () => {
    t = await createTestApp("memory");
    driver = engine(t, DRIVER);
    wakes = 0;
    isolate = engine(t, ISOLATE, {
      wake: async () => {
        wakes++;
        await driver.tick();
      },
    });
  });
  afterEach(async () => {
    await isolate.close();
    await driver.close();
    await t.cleanup();
  });

  it("create stores the definition and wakes the driver, which claims and saves the wave", async () => {
    const targets = macs(4);
    await saveConfigs(t, targets, original);
    const view = await isolate.create(spec(targets, { waves: [50, 100] }));
    expect(wakes).toBe(1);
    // Claimed by the driver during the wake, so the answer shows it as any runtime's does.
    expect(view.waves[0]?.released_at).not.toBeNull();
    expect((await events(t, 1)).map((e) => [e.type, e.by])).toEqual([["release", DRIVER]]);
    const h = { engine: driver, outcomes: {} as never, shift: () => {} };
    await tickUntil(h, released(t, 1, 1));
    for (const mac of targets.slice(0, 2)) expect(JSON.parse((await stored(t, mac)).text).firmware.version).toBe("2.0");
    for (const mac of targets.slice(0, 2)) {
      expect((await report(t, mac, { state: "ok", config_etag: (await stored(t, mac)).etag })).status).toBe(204);
    }
    // Ticking the isolate decides nothing: the next wave waits for the driver.
    await isolate.tick();
    expect((await events(t, 1)).filter((e) => e.type === "release")).toHaveLength(1);
    await tickUntil(h, released(t, 1, 2));
    expect((await events(t, 1)).filter((e) => e.by === ISOLATE)).toEqual([]);
  });

  it("pause and abort only record; resume and rollback wake the driver; a rollback runs in its request", async () => {
    const targets = macs(4, "aa-bb-cc-de");
    await saveConfigs(t, targets, original);
    await isolate.create(spec(targets, { waves: [50, 100] }));
    await tickUntil({ engine: driver, outcomes: {} as never, shift: () => {} }, released(t, 1, 1));
    await isolate.act("1", "pause");
    expect(wakes).toBe(1);
    expect((await isolate.act("1", "resume")).state).toBe("running");
    expect(wakes).toBe(2);
    await isolate.act("1", "abort");
    expect(wakes).toBe(2);
    const rolledBack = await isolate.act("1", "rollback");
    expect(wakes).toBe(3);
    expect(rolledBack).toMatchObject({ state: "rolled_back", details: { skipped: [] } });
    for (const mac of targets) expect(JSON.parse((await stored(t, mac)).text)).toEqual(original(mac));
    const log = (await events(t, 1)).map((e) => [e.type, e.by]);
    expect(log).toContainEqual(["rolled_back", ISOLATE]);
    expect(log.filter(([type]) => type === "release" || type === "released").every(([, by]) => by === DRIVER)).toBe(
      true,
    );
  });
});

describe("rollouts on a Worker without the driver's binding", () => {
  it("refuses every API call with the error given; counts still come from the storage", async () => {
    const t = await createTestApp("memory");
    try {
      const refusal = new AppError("SERVER_MISCONFIGURED", "no driver", { details: { variable: "ROLLOUTS" } });
      const rollouts = createRolloutsFor({ ...t.deps, settings: t.settings, rolloutDriver: { unavailable: refusal } });
      const target = macs(1, "aa-bb-cc-df");
      await saveConfigs(t, target, original);
      await expect(rollouts.create(spec(target))).rejects.toBe(refusal);
      await expect(rollouts.list()).rejects.toBe(refusal);
      await expect(rollouts.get("1")).rejects.toBe(refusal);
      await expect(rollouts.act("1", "abort")).rejects.toBe(refusal);
      expect(await rollouts.active()).toBe(false);
      // A rollout another deployment left in the bucket is still counted for iot_rollouts.
      const elsewhere = engine(t, DRIVER);
      await elsewhere.create(spec(target));
      expect((await rollouts.counts()).running).toBe(1);
      await rollouts.close();
      await elsewhere.close();
    } finally {
      await t.cleanup();
    }
  });
});
