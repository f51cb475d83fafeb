/**
 * The fleet records (src/features/fleet/fleet-records.ts) over real state stores
 * (filesystem STATE_DIR, and memory), several recorders standing for several processes,
 * with a clock the test moves: others' records seen after a rescan, one batch key per
 * process, no write when nothing changed, a stopped process's batch compacted, the bound
 * on devices. Flushes are called by the test, as the timer would.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import type { StateStore } from "../src/core/state.js";
import { createFleetRecords, RESCAN_MS } from "../src/features/fleet/fleet-records.js";
import { FETCHES_NAMESPACE, REPORTS_NAMESPACE } from "../src/features/fleet/record-format.js";
import { COMPACT_AFTER_MS } from "../src/features/fleet/record-scan.js";
import { createFsState } from "../src/plugins/storage/fs-state.js";
import { createMemoryState } from "../src/plugins/storage/memory-state.js";

const ETAG_A = `"${"a".repeat(64)}"`;
const ETAG_B = `"${"b".repeat(64)}"`;
const M1 = "aa-00-00-00-00-01";
const M2 = "aa-00-00-00-00-02";
const M3 = "aa-00-00-00-00-03";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const stores: Record<string, () => Promise<StateStore>> = {
  filesystem: async () => {
    const dir = await mkdtemp(join(tmpdir(), "iot-fleet-"));
    dirs.push(dir);
    return createFsState(dir, createMemoryLogger());
  },
  memory: async () => createMemoryState(),
};

function recorder(state: StateStore, clock: { now: number }, maxDevices?: number) {
  const writes = { fetches: 0, reports: 0 };
  const logger = createMemoryLogger();
  const records = createFleetRecords({
    state,
    logger,
    now: () => clock.now,
    maxDevices,
    observer: { deviceRecordWrite: (kind) => writes[kind]++ },
  });
  return { records, writes, logger };
}

for (const [name, create] of Object.entries(stores)) {
  describe(`fleet records over ${name} state`, () => {
    it("another process's fetches and reports are seen at its next rescan, not before", async () => {
      const state = await create();
      const clock = { now: Date.UTC(2026, 11, 6) };
      const a = recorder(state, clock);
      const b = recorder(state, clock);
      expect((await b.records.devices()).size).toBe(0);
      a.records.fetched(M1, ETAG_A);
      await a.records.flush();
      await a.records.reported(M2, { state: "ok", config_etag: ETAG_B });
      // b looked less than RESCAN_MS ago.
      expect((await b.records.devices()).size).toBe(0);
      clock.now += RESCAN_MS;
      const seen = await b.records.devices();
      expect(seen.get(M1)?.fetch).toEqual({ etag: ETAG_A, at: clock.now - RESCAN_MS });
      expect(seen.get(M2)?.report?.report).toEqual({ state: "ok", config_etag: ETAG_B });
      await a.records.close();
      await b.records.close();
    });

    it("one batch key per process, rewritten only when something changed", async () => {
      const state = await create();
      const clock = { now: Date.UTC(2026, 11, 6) };
      const a = recorder(state, clock);
      for (let i = 0; i < 1000; i++) a.records.fetched(M1, ETAG_A);
      a.records.fetched(M2, ETAG_B);
      await a.records.flush();
      await a.records.flush();
      expect(a.writes.fetches).toBe(1);
      clock.now += 5000;
      a.records.fetched(M1, ETAG_B);
      await a.records.flush();
      expect(a.writes.fetches).toBe(2);
      const keys = await state.list(FETCHES_NAMESPACE);
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(new RegExp(`^[0-9a-f]{32}\\.${clock.now}$`));
      await a.records.close();
      expect(a.writes.fetches).toBe(2);
    });

    it("a stopped process's batch is taken into a live one's after an hour, then deleted", async () => {
      const state = await create();
      const clock = { now: Date.UTC(2026, 11, 6) };
      const stopped = recorder(state, clock);
      stopped.records.fetched(M1, ETAG_A);
      stopped.records.fetched(M2, ETAG_A);
      await stopped.records.flush();
      const [stoppedKey] = await state.list(FETCHES_NAMESPACE);
      clock.now += COMPACT_AFTER_MS + 1;
      const live = recorder(state, clock);
      live.records.fetched(M2, ETAG_B);
      const devices = await live.records.devices();
      expect(devices.get(M1)?.fetch?.etag).toBe(ETAG_A);
      // The newer of the two fetches of M2 is kept.
      expect(devices.get(M2)?.fetch?.etag).toBe(ETAG_B);
      const keys = await state.list(FETCHES_NAMESPACE);
      expect(keys).toHaveLength(1);
      expect(keys).not.toContain(stoppedKey);
      // What was compacted is in the live process's batch: a third process sees it all.
      const third = recorder(state, clock);
      const seen = await third.records.devices();
      expect(seen.get(M1)?.fetch?.etag).toBe(ETAG_A);
      expect(seen.get(M2)?.fetch?.etag).toBe(ETAG_B);
      await live.records.close();
    });

    it("a device's newer report replaces its older record; concurrent reports keep the last one asked", async () => {
      const state = await create();
      const clock = { now: Date.UTC(2026, 11, 6) };
      const a = recorder(state, clock);
      await Promise.all([
        a.records.reported(M1, { state: "updating" }),
        a.records.reported(M1, { state: "ok", firmware_version: "2" }),
      ]);
      expect(a.writes.reports).toBe(2);
      await expect.poll(async () => (await state.list(REPORTS_NAMESPACE)).length).toBe(1);
      clock.now += 5000;
      const b = recorder(state, clock);
      expect((await b.records.devices()).get(M1)?.report?.report).toEqual({ state: "ok", firmware_version: "2" });
    });

    it("knows at most maxDevices: a new device past it is not recorded, a report from one is refused", async () => {
      const state = await create();
      const clock = { now: Date.UTC(2026, 11, 6) };
      const a = recorder(state, clock, 2);
      a.records.fetched(M1, ETAG_A);
      a.records.fetched(M2, ETAG_A);
      a.records.fetched(M3, ETAG_A);
      await expect(a.records.reported(M3, { state: "ok" })).rejects.toMatchObject({ code: "SERVER_BUSY" });
      await a.records.reported(M1, { state: "ok" });
      expect([...(await a.records.devices()).keys()].sort()).toEqual([M1, M2]);
      expect(a.logger.entries.filter((e) => String(e.msg).includes("fleet record is full"))).toHaveLength(1);
      await a.records.flush();
      // Another process with the same bound takes no more from the records than it may keep.
      const b = recorder(state, clock, 1);
      expect((await b.records.devices()).size).toBe(1);
      await a.records.close();
    });
  });
}
