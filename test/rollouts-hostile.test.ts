/**
 * Files placed in STATE_DIR/rollouts and STATE_DIR/rollout-<id>/ by others (damaged, cut
 * short, of no known form, naming devices the rollout does not target, a directory where a
 * record goes) are skipped and logged: nothing crashes, nothing is released or restored from
 * them, and the engine's own records go to the next free key. Real filesystem storage.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./support/app.js";
import {
  type EngineHarness,
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

const original = (mac: string) => ({ deviceName: mac, firmware: { version: "1.0" } });

describe("hostile rollout records", () => {
  let t: TestApp;
  let h: EngineHarness;
  beforeEach(async () => {
    t = await createTestApp("fs");
    h = engineOver(t);
  });
  afterEach(async () => {
    await h.engine.close();
    await t.cleanup();
  });

  const place = async (ns: string, key: string, content: string | null) => {
    const dir = join(t.settings.stateDir, ns);
    await mkdir(dir, { recursive: true });
    if (content === null) await mkdir(join(dir, key), { recursive: true });
    else await writeFile(join(dir, key), content);
  };
  const damagedLogged = () =>
    t.logger.entries
      .filter((e) => e.msg.startsWith("skipping a damaged rollout record"))
      .map((e) => `${e.ns}/${e.key}`);

  it("are skipped and logged, never crash, never release or restore anything", async () => {
    const targets = macs(4);
    const bystander = "0b-0b-0b-0b-0b-0b";
    await saveConfigs(t, [...targets, bystander], original);
    const definition = {
      id: 2,
      name: "forged",
      created_at: new Date().toISOString(),
      spec: { ...spec([bystander]), targets: [bystander] },
    };
    await place("rollouts", "000000001", "{not json");
    await place("rollouts", "000000002", JSON.stringify({ ...definition, id: 7 }));
    await place(
      "rollouts",
      "000000003",
      JSON.stringify({ ...definition, id: 3, spec: { ...definition.spec, waves: [50] } }),
    );
    await place("rollouts", "notes.txt", "hello");
    // The next rollout's namespace, prepared before it exists.
    const ns = "rollout-4";
    await place(ns, "e000001", '{"type":"release","wave":1,"at":"now","by":"x"}');
    await place(ns, "e000002", JSON.stringify({ type: "explode", at: Date.now(), by: "ab" }));
    await place(ns, "e000003", null);
    await place(ns, "hb", "\u0000\u0001");
    await place(
      ns,
      "w01-0000",
      JSON.stringify({ rows: [{ mac: bystander, previous: {}, previous_etag: null, etag: null, error: "x" }] }),
    );
    await place(
      ns,
      "w02-0000",
      JSON.stringify({
        rows: [
          {
            mac: targets[2],
            previous: { evil: true },
            previous_etag: `"${"a".repeat(64)}"`,
            etag: `"${"b".repeat(64)}"`,
          },
        ],
      }),
    );
    await place(ns, "zz-junk", "{}");

    expect(await h.engine.list()).toEqual([]);
    await h.engine.tick();
    expect(await h.engine.counts()).toMatchObject({ running: 0 });
    const view = await h.engine.create(spec(targets, { waves: [50, 100] }));
    expect(view.id).toBe("4");
    await tickUntil(h, released(t, 4, 1));
    // The engine's events went past the keys others took.
    const own = await events(t, 4);
    expect(own.slice(0, 3).map((e) => e.by)).toEqual(["x", "ab", undefined]);
    expect(own.slice(3).map((e) => e.type)).toEqual(["release", "released"]);
    for (const mac of targets.slice(0, 2)) {
      const { etag } = await stored(t, mac);
      expect((await report(t, mac, { state: "ok", config_etag: etag })).status).toBe(204);
    }
    await h.engine.tick();
    await tickUntil(h, released(t, 4, 2));
    for (const mac of targets) expect(JSON.parse((await stored(t, mac)).text).firmware.version).toBe("2.0");
    expect(JSON.parse((await stored(t, bystander)).text)).toEqual(original(bystander));
    await h.engine.act("4", "pause");
    const rolledBack = await h.engine.act("4", "rollback");
    expect(rolledBack.details).toEqual({ skipped: [] });
    for (const mac of [...targets, bystander]) expect(JSON.parse((await stored(t, mac)).text)).toEqual(original(mac));
    expect(damagedLogged()).toEqual(
      expect.arrayContaining([
        "rollouts/000000001",
        "rollouts/000000002",
        "rollouts/000000003",
        "rollouts/notes.txt",
        `${ns}/e000001`,
        `${ns}/e000002`,
        `${ns}/e000003`,
        `${ns}/w01-0000`,
        `${ns}/w02-0000`,
        `${ns}/zz-junk`,
      ]),
    );
    // Said once each, however many ticks read them.
    expect(new Set(damagedLogged()).size).toBe(damagedLogged().length);
  });

  it("a state directory gone makes every tick fail: said once, not every TICK_MS", async () => {
    await rm(t.settings.stateDir, { recursive: true, force: true });
    for (let i = 0; i < 5; i++) await h.engine.tick();
    const failures = t.logger.entries.filter((e) => e.msg.startsWith("a rollout tick failed"));
    expect(failures).toHaveLength(1);
    expect(failures[0]?.errCode).toBe("STORAGE_UNAVAILABLE");
  });
});
