/**
 * Races of the fleet records over the real filesystem state, with the interleaving forced
 * by a thin wrapper around the real store (it holds or reorders a call, and says so; every
 * byte still goes to disk): a report answered 204 stays in storage while a later report of
 * the same device is still being written, and a batch replaced while another process reads it
 * is neither called damaged nor missed until the next scan.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import type { StateStore } from "../src/core/state.js";
import { createFleetRecords } from "../src/features/fleet/fleet-records.js";
import { createFsState } from "../src/plugins/storage/fs-state.js";

const MAC = "aa-bb-cc-dd-ee-ff";
const observer = { deviceRecordWrite() {} };
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function stateDir() {
  const dir = await mkdtemp(join(tmpdir(), "iot-fleet-race-"));
  dirs.push(dir);
  return dir;
}

describe("fleet record races", () => {
  it("keeps the record answered 204 while a later report of the device is written, and after that write fails", async () => {
    const dir = await stateDir();
    const logger = createMemoryLogger();
    const real = createFsState(dir, logger);
    let puts = 0;
    let failSecond: ((error: Error) => void) | undefined;
    // Holds the second report's write (a slow disk or R2), then fails it.
    const state: StateStore = {
      ...real,
      put(ns, key, value, options) {
        if (ns === "device-reports" && ++puts === 2) {
          return new Promise((_, reject) => {
            failSecond = reject;
          });
        }
        return real.put(ns, key, value, options);
      },
    };
    const records = createFleetRecords({ state, logger, observer });
    const first = records.reported(MAC, { state: "ok", config_etag: '"v1"' });
    const second = records.reported(MAC, { state: "updating" }).then(
      () => "written",
      (error: Error) => error.message,
    );
    await first;
    // The first's background clean-up has had time to run.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await readdir(join(dir, "device-reports"))).toHaveLength(1);
    failSecond?.(new Error("EIO"));
    expect(await second).toBe("EIO");
    const restarted = createFleetRecords({ state: real, logger, observer });
    expect((await restarted.devices()).get(MAC)?.report?.report).toEqual({ state: "ok", config_etag: '"v1"' });
    await records.close();
    await restarted.close();
  });

  it("a batch replaced between another process's listing and its read is read as its successor, with no warning", async () => {
    const dir = await stateDir();
    const logA = createMemoryLogger();
    const logB = createMemoryLogger();
    const b = createFleetRecords({ state: createFsState(dir, logB), logger: logB, observer });
    b.fetched(MAC, '"e1"');
    await b.flush();
    const real = createFsState(dir, logA);
    let interleave = true;
    // B's flush lands between A's listing of the batches and A's read of the one it listed.
    const racy: StateStore = {
      ...real,
      async list(ns) {
        const keys = await real.list(ns);
        if (interleave && ns === "device-fetches") {
          interleave = false;
          b.fetched(MAC, '"e2"');
          await b.flush();
        }
        return keys;
      },
    };
    const a = createFleetRecords({ state: racy, logger: logA, observer });
    expect((await a.devices()).get(MAC)?.fetch?.etag).toBe('"e2"');
    expect(logA.entries.filter((e) => e.level === "warn")).toEqual([]);
    await a.close();
    await b.close();
  });

  it("fifty reports of one device at once delete each older record once, leaving only the newest", async () => {
    const dir = await stateDir();
    const logger = createMemoryLogger();
    const real = createFsState(dir, logger);
    const deleted: string[] = [];
    // Counts the deletes; each still reaches the disk.
    const state: StateStore = {
      ...real,
      delete(ns, key, options) {
        if (ns === "device-reports") deleted.push(key);
        return real.delete(ns, key, options);
      },
    };
    const background: Promise<void>[] = [];
    const records = createFleetRecords({ state, logger, observer, track: (done) => background.push(done) });
    await Promise.all(Array.from({ length: 50 }, (_, i) => records.reported(MAC, { state: "ok", message: `r${i}` })));
    // A clean-up may start another pass while the previous ones settle: wait until none is left.
    for (let seen = 0; seen < background.length; ) {
      const batch = background.slice(seen);
      seen = background.length;
      await Promise.all(batch);
    }
    // Before the fix every report's clean-up deleted every older record again: ~n²/2 deletes.
    expect(deleted).toHaveLength(49);
    expect(new Set(deleted).size).toBe(49);
    expect(await readdir(join(dir, "device-reports"))).toHaveLength(1);
    expect(logger.entries.filter((e) => e.level === "warn")).toEqual([]);
    await records.close();
  });
});
