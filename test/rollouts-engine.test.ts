/**
 * The rollout engine in-process, on the filesystem and memory drivers, with the app's real
 * configs, notifier (a recording sink) and fleet records; reports and reads go through the
 * HTTP routes as devices send them. Ticks are driven by the test (the runtimes' timer is
 * tested with real processes), so each assertion is about one decision, not about time.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, type StorageKind, type TestApp } from "./support/app.js";
import {
  type EngineHarness,
  engineOver,
  events,
  macs,
  released,
  report,
  saveConfigs,
  sha256,
  spec,
  stored,
  tickUntil,
} from "./support/rollouts.js";

const original = (mac: string) => ({ deviceName: `dev ${mac}`, firmware: { version: "1.0", url: "old" } });

describe.each<StorageKind>(["fs", "memory"])("rollout engine on %s storage", (kind) => {
  let t: TestApp;
  let h: EngineHarness;
  beforeEach(async () => {
    t = await createTestApp(kind);
    h = engineOver(t);
  });
  afterEach(async () => {
    await h.engine.close();
    await t.cleanup();
  });

  const applyAll = async (devices: string[], state = "ok") => {
    for (const mac of devices) {
      const { etag } = await stored(t, mac);
      expect((await report(t, mac, { state, config_etag: etag })).status).toBe(204);
    }
  };

  it("create releases wave 1 at once: configs patched on disk, ETag = sha256 of the stored bytes, one notification each", async () => {
    const targets = macs(10);
    await saveConfigs(t, targets, original);
    t.sink.published.length = 0;
    const view = await h.engine.create(spec(targets, { waves: [20, 100] }));
    expect(view).toMatchObject({
      id: "1",
      state: "running",
      waves: [
        { percent: 20, devices: 2, released_at: expect.any(String) },
        { percent: 100, devices: 8, released_at: null },
      ],
      counts: { targets: 10, released: 2, applied: 0, failed: 0, pending: 2 },
    });
    await tickUntil(h, released(t, 1, 1));
    for (const [i, mac] of targets.entries()) {
      const { text, etag } = await stored(t, mac);
      const content = JSON.parse(text);
      if (i < 2) {
        expect(content).toEqual({ deviceName: `dev ${mac}`, firmware: { version: "2.0", url: "old" } });
        expect(etag).toBe(`"${sha256(text)}"`);
        if (kind === "fs") expect(await readFile(join(t.root as string, "configs", `${mac}.json`), "utf8")).toBe(text);
      } else expect(content).toEqual(original(mac));
    }
    expect(t.sink.published.map((n) => n.payload.filename).sort()).toEqual(targets.slice(0, 2).map((m) => `${m}.json`));
    for (const n of t.sink.published) {
      expect(n.metadata?.etag).toBe((await stored(t, n.payload.filename.replace(".json", ""))).etag);
    }
    expect(h.outcomes.released).toBe(2);
  });

  it("wave sizes are ceil(p × N / 100), and the targets are released in the order given", async () => {
    const targets = macs(7).reverse();
    await saveConfigs(t, targets, original);
    const view = await h.engine.create(spec(targets, { waves: [10, 50, 100] }));
    // ceil(0.7) = 1, ceil(3.5) = 4, 7.
    expect(view.waves.map((w) => w.devices)).toEqual([1, 3, 3]);
    await tickUntil(h, released(t, 1, 1));
    expect(JSON.parse((await stored(t, targets[0] as string)).text).firmware.version).toBe("2.0");
    expect(JSON.parse((await stored(t, targets[1] as string)).text).firmware.version).toBe("1.0");
  });

  it('"all" targets every config in MAC order', async () => {
    const targets = ["ff-00-00-00-00-01", "00-00-00-00-00-02", "80-00-00-00-00-03"];
    await saveConfigs(t, targets, original);
    const view = await h.engine.create(spec("all", { waves: [34, 100] }));
    expect(view.counts.targets).toBe(3);
    await tickUntil(h, released(t, 1, 1));
    expect(JSON.parse((await stored(t, "00-00-00-00-00-02")).text).firmware.version).toBe("2.0");
    expect(JSON.parse((await stored(t, "ff-00-00-00-00-01")).text).firmware.version).toBe("1.0");
  });

  it("reports ok with the written ETag release the next wave at the next tick, then complete", async () => {
    const targets = macs(10);
    await saveConfigs(t, targets, original);
    await h.engine.create(spec(targets, { waves: [20, 60, 100] }));
    await tickUntil(h, released(t, 1, 1));
    await h.engine.tick();
    // Not yet: nothing applied.
    expect((await events(t, 1)).filter((e) => e.type === "release")).toHaveLength(1);
    await applyAll(targets.slice(0, 2));
    await h.engine.tick();
    expect((await events(t, 1)).filter((e) => e.type === "release").map((e) => e.wave)).toEqual([1, 2]);
    await tickUntil(h, released(t, 1, 2));
    await applyAll(targets.slice(2, 6));
    await h.engine.tick();
    await tickUntil(h, released(t, 1, 3));
    await applyAll(targets.slice(6));
    await h.engine.tick();
    const view = await h.engine.get("1");
    expect(view.state).toBe("completed");
    expect(view.counts).toEqual({ targets: 10, released: 10, applied: 10, failed: 0, pending: 0 });
    expect(h.outcomes).toMatchObject({ released: 10, applied: 10, failed: 0 });
    expect(await h.engine.active()).toBe(false);
    expect(await h.engine.counts()).toMatchObject({ completed: 1, running: 0 });
  });

  it("a report ok with another ETag is not applied; a failed report halts, and nothing more is released", async () => {
    const targets = macs(10);
    await saveConfigs(t, targets, original);
    await h.engine.create(spec(targets, { waves: [20, 100], halt_when: { failed_percent: 50 } }));
    await tickUntil(h, released(t, 1, 1));
    expect((await report(t, targets[0] as string, { state: "ok", config_etag: `"${"0".repeat(64)}"` })).status).toBe(
      204,
    );
    await h.engine.tick();
    expect((await h.engine.get("1")).counts).toMatchObject({ applied: 0, pending: 2 });
    await applyAll([targets[0] as string], "failed");
    for (let i = 0; i < 5; i++) await h.engine.tick();
    const view = await h.engine.get("1");
    expect(view.state).toBe("halted");
    expect(view.counts).toMatchObject({ released: 2, failed: 1, pending: 1 });
    expect((await events(t, 1)).filter((e) => e.type === "release")).toHaveLength(1);
    for (const mac of targets.slice(2)) expect(JSON.parse((await stored(t, mac)).text)).toEqual(original(mac));
    expect(h.outcomes.failed).toBe(1);
  });

  it("a device that has not applied within within_s has failed", async () => {
    const targets = macs(4);
    await saveConfigs(t, targets, original);
    await h.engine.create(spec(targets, { waves: [50, 100], advance_when: { applied_percent: 50, within_s: 30 } }));
    await tickUntil(h, released(t, 1, 1));
    await applyAll([targets[0] as string]);
    // Applied 1 of 2 = 50 %: wave 2 goes; its devices then miss within_s.
    await h.engine.tick();
    await tickUntil(h, released(t, 1, 2));
    expect((await h.engine.get("1")).counts).toMatchObject({ failed: 0, pending: 3 });
    h.shift(31_000);
    await h.engine.tick();
    const view = await h.engine.get("1");
    expect(view.counts).toMatchObject({ applied: 1, failed: 3, pending: 0 });
    expect(view.state).toBe("halted");
  });

  it('with evidence "fetch", a device read of the written ETag is applied', async () => {
    const targets = macs(2);
    await saveConfigs(t, targets, original);
    await h.engine.create(spec(targets, { waves: [50, 100], evidence: "fetch" }));
    await tickUntil(h, released(t, 1, 1));
    await stored(t, targets[0] as string);
    await h.engine.tick();
    expect((await h.engine.get("1")).counts).toMatchObject({ applied: 1 });
    expect((await events(t, 1)).filter((e) => e.type === "release")).toHaveLength(2);
  });

  it("pause, resume, abort: transitions, and 409 where the state forbids them", async () => {
    const targets = macs(4);
    await saveConfigs(t, targets, original);
    await h.engine.create(spec(targets, { waves: [50, 100] }));
    await tickUntil(h, released(t, 1, 1));
    expect((await h.engine.act("1", "pause")).state).toBe("paused");
    await expect(h.engine.act("1", "pause")).rejects.toMatchObject({ code: "INVALID_OPERATION", status: 409 });
    await applyAll(targets.slice(0, 2));
    await h.engine.tick();
    // Paused: applied enough, but no next wave.
    expect((await events(t, 1)).filter((e) => e.type === "release")).toHaveLength(1);
    expect((await h.engine.act("1", "resume")).state).toBe("running");
    await tickUntil(h, released(t, 1, 2));
    expect((await h.engine.act("1", "abort")).state).toBe("aborted");
    for (const action of ["pause", "resume", "abort"] as const) {
      await expect(h.engine.act("1", action)).rejects.toMatchObject({ code: "INVALID_OPERATION", status: 409 });
    }
    await expect(h.engine.act("2", "pause")).rejects.toMatchObject({ code: "RECORD_NOT_FOUND", status: 404 });
    await expect(h.engine.act("01", "pause")).rejects.toMatchObject({ code: "RECORD_NOT_FOUND" });
    await expect(h.engine.get("x")).rejects.toMatchObject({ code: "RECORD_NOT_FOUND" });
  });

  it("rollback restores the previous bytes with a notification, and skips a config changed after the release", async () => {
    const targets = macs(4);
    await saveConfigs(t, targets, original);
    const before = await Promise.all(targets.map((m) => stored(t, m)));
    await h.engine.create(spec(targets, { waves: [75, 100] }));
    await tickUntil(h, released(t, 1, 1));
    await expect(h.engine.act("1", "rollback")).rejects.toMatchObject({ status: 409 });
    await saveConfigs(t, [targets[1] as string], () => ({ deviceName: "changed by hand" }));
    await h.engine.act("1", "abort");
    t.sink.published.length = 0;
    const view = await h.engine.act("1", "rollback");
    expect(view.state).toBe("rolled_back");
    expect(view.details).toEqual({ skipped: [targets[1]] });
    for (const i of [0, 2, 3]) expect(await stored(t, targets[i] as string)).toEqual(before[i]);
    expect(JSON.parse((await stored(t, targets[1] as string)).text)).toEqual({ deviceName: "changed by hand" });
    expect(t.sink.published.map((n) => n.payload.filename).sort()).toEqual(
      [targets[0], targets[2]].map((m) => `${m}.json`),
    );
    expect(h.outcomes).toMatchObject({ rolled_back: 2, skipped: 1 });
    await expect(h.engine.act("1", "rollback")).rejects.toMatchObject({ status: 409 });
    expect((await events(t, 1)).at(-1)).toMatchObject({ type: "rolled_back", skipped: [targets[1]] });
  });

  it("a target in a running or paused rollout is 409; a target without a config is 400 naming it", async () => {
    const targets = macs(4);
    await saveConfigs(t, targets, original);
    await h.engine.create(spec(targets.slice(0, 2)));
    await expect(h.engine.create(spec([targets[3] as string, targets[1] as string]))).rejects.toMatchObject({
      code: "INVALID_OPERATION",
      status: 409,
      details: { mac_address: targets[1], rollout_id: "1" },
    });
    await h.engine.act("1", "pause");
    await expect(h.engine.create(spec([targets[0] as string]))).rejects.toMatchObject({ status: 409 });
    await expect(h.engine.create(spec(["01-02-03-04-05-06"]))).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      status: 400,
      details: { mac_address: "01-02-03-04-05-06" },
    });
    await h.engine.act("1", "abort");
    expect((await h.engine.create(spec(targets))).id).toBe("2");
    expect((await h.engine.list()).map((r) => r.id)).toEqual(["2", "1"]);
  });
});

describe("rollout engine: shutdown and takeover in one process's storage", () => {
  it("close() stops a wave at its next batch; another engine takes it over once the heartbeat is 10 s old, saving each device once", async () => {
    const t = await createTestApp("memory");
    try {
      const targets = macs(600);
      await saveConfigs(t, targets, original);
      t.sink.published.length = 0;
      const first = engineOver(t);
      await first.engine.create(spec(targets, { waves: [100] }));
      await first.engine.close();
      expect(await released(t, 1, 1)()).toBe(false);
      const cutAt = t.sink.published.length;
      expect(cutAt).toBeLessThan(600);
      const second = engineOver(t);
      await second.engine.tick();
      // Not yet: the first engine's heartbeat is fresh.
      expect((await events(t, 1)).map((e) => e.type)).toEqual(["release"]);
      second.shift(11_000);
      await tickUntil(second, released(t, 1, 1));
      expect((await events(t, 1)).map((e) => e.type)).toEqual(["release", "takeover", "released"]);
      const saves = new Map<string, number>();
      for (const n of t.sink.published) saves.set(n.payload.filename, (saves.get(n.payload.filename) ?? 0) + 1);
      expect(saves.size).toBe(600);
      expect([...saves.values()].every((n) => n === 1)).toBe(true);
      console.log(`close() stopped the wave after ${cutAt} of 600 saves; the takeover saved the rest`);
      await second.engine.close();
    } finally {
      await t.cleanup();
    }
  });

  it("two engines taking over the same stopped wave at once: one takes it, each device is saved once", async () => {
    const t = await createTestApp("memory");
    try {
      const targets = macs(300);
      await saveConfigs(t, targets, original);
      t.sink.published.length = 0;
      const first = engineOver(t);
      await first.engine.create(spec(targets, { waves: [100] }));
      await first.engine.close();
      const [b, c] = [engineOver(t), engineOver(t)];
      b.shift(11_000);
      c.shift(11_000);
      await Promise.all([b.engine.tick(), c.engine.tick()]);
      await tickUntil(b, released(t, 1, 1));
      expect((await events(t, 1)).filter((e) => e.type === "takeover")).toHaveLength(1);
      const saves = new Map<string, number>();
      for (const n of t.sink.published) saves.set(n.payload.filename, (saves.get(n.payload.filename) ?? 0) + 1);
      expect(saves.size).toBe(300);
      expect([...saves.values()].every((n) => n === 1)).toBe(true);
      await Promise.all([b.engine.close(), c.engine.close()]);
    } finally {
      await t.cleanup();
    }
  });
});
