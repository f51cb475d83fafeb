/**
 * Reports received over MQTT (already acknowledged to the broker) go into the view at once
 * and are written in the background (src/features/fleet/report-backlog.ts): a burst of a
 * whole fleet is seen at once, every report reaches the real filesystem state by the graceful
 * close, a device reporting twice before its write costs one write, and a storage that
 * refuses writes is logged once, not once per report.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { createFleetRecords } from "../src/features/fleet/fleet-records.js";
import { REPORTS_NAMESPACE } from "../src/features/fleet/record-format.js";
import { createReportBacklog } from "../src/features/fleet/report-backlog.js";
import { createFsState } from "../src/plugins/storage/fs-state.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const macOf = (i: number) =>
  `ac-00-00-${[i >> 16, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, "0")).join("-")}`;

async function fsRecords() {
  const dir = await mkdtemp(join(tmpdir(), "iot-backlog-"));
  dirs.push(dir);
  const logger = createMemoryLogger();
  const state = createFsState(dir, logger);
  const writes = { fetches: 0, reports: 0 };
  const records = createFleetRecords({ state, logger, observer: { deviceRecordWrite: (k) => writes[k]++ } });
  return { state, records, writes, logger };
}

describe("reports accepted from a broker", () => {
  it("a burst of 2,000 is in the view before any is written, and every one is in storage after close", async () => {
    const { state, records, writes } = await fsRecords();
    for (let i = 0; i < 2000; i++) records.accepted(macOf(i), { state: "ok", config_etag: `"e${i}"` });
    const seen = await records.devices();
    expect(seen.size).toBe(2000);
    expect(seen.get(macOf(1999))?.report?.report).toEqual({ state: "ok", config_etag: '"e1999"' });
    // Written in the background: not all 2,000 durable writes can have finished in the same tick.
    expect(writes.reports).toBeLessThan(2000);
    await records.close();
    expect(writes.reports).toBe(2000);
    const keys = await state.list(REPORTS_NAMESPACE);
    expect(new Set(keys.map((k) => k.split(".")[0])).size).toBe(2000);
  });

  it("a device that reports again before its last report was written costs one write, the newest", async () => {
    const { state, records, writes } = await fsRecords();
    // Enough others first that the device's report still waits when the next comes.
    for (let i = 1; i <= 50; i++) records.accepted(macOf(i), { state: "ok" });
    records.accepted(macOf(0), { state: "updating" });
    records.accepted(macOf(0), { state: "ok", firmware_version: "2" });
    await records.close();
    expect(writes.reports).toBe(51);
    const mine = (await state.list(REPORTS_NAMESPACE)).filter((k) => k.startsWith(macOf(0)));
    expect(mine).toHaveLength(1);
    const value = JSON.parse(
      new TextDecoder().decode((await state.get(REPORTS_NAMESPACE, mine[0] as string)) ?? undefined),
    );
    expect(value.report).toEqual({ state: "ok", firmware_version: "2" });
  });
});

describe("the backlog's writers", () => {
  it("never run more than their number at once, and a failing storage is logged once, then its recovery", async () => {
    const logger = createMemoryLogger();
    let running = 0;
    let most = 0;
    let fail = true;
    const backlog = createReportBacklog(
      async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 1));
        running--;
        if (fail) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
      },
      logger,
      4,
    );
    for (let i = 0; i < 100; i++) backlog.add(macOf(i), { report: { state: "ok" }, at: i });
    expect(backlog.size()).toBe(100);
    await backlog.drain();
    expect(most).toBe(4);
    expect(logger.entries.filter((l) => l.level === "warn")).toHaveLength(1);
    fail = false;
    backlog.add(macOf(1), { report: { state: "ok" }, at: 200 });
    await backlog.drain();
    expect(backlog.size()).toBe(0);
    expect(logger.entries.filter((l) => l.msg === "device status reports are written again")).toHaveLength(1);
  });
});
