/**
 * The fleet contract in process (filesystem and memory storage), and what only an
 * in-process app shows: the fast path records reads too, a 204'd report is in STATE_DIR at
 * once, device mode's own-MAC rule, reports for invented MACs counted as misses in open
 * mode, records of fetches written in batches and counted.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FLUSH_MS } from "../src/features/fleet/fleet-records.js";
import { createTestApp, type TestApp } from "./support/app.js";
import { ADMIN_TOKEN, deviceAuthEnv } from "./support/device-auth-contract.js";
import { FLEET_ENV, fleetClient, fleetContract, randomMac } from "./support/fleet-contract.js";
import { expectError, metricValue } from "./support/http.js";

for (const kind of ["fs", "memory"] as const) {
  fleetContract(`Node in process, ${kind} storage`, async () => {
    const t = await createTestApp(kind, FLEET_ENV());
    return { fetch: async (path, init) => t.app.request(path, init), close: t.cleanup };
  });
}

const apps: TestApp[] = [];
afterEach(async () => {
  for (const t of apps.splice(0)) await t.cleanup();
});
const start = async (env: Record<string, string> = FLEET_ENV(), kind: "fs" | "memory" = "fs") => {
  const t = await createTestApp(kind, env);
  apps.push(t);
  return { t, c: fleetClient(() => async (path, init) => t.app.request(path, init)) };
};
const peer = { header: () => undefined, peer: () => "127.0.0.1" };

describe("device reads and reports reach the fleet record", () => {
  it("a read answered by the fast path is recorded like one answered by the app", async () => {
    const { t, c } = await start();
    const mac = randomMac();
    await c.saveConfig(mac, { deviceName: "fast" });
    const fast = t.fastReads?.("GET", `/files/configs/${mac}.json`, undefined, undefined, peer);
    expect(fast?.status).toBe(200);
    expect(await c.device(mac)).toMatchObject({ fetched_etag: fast?.headers.ETag, sync: "current" });
  });

  it("a report answered 204 is in STATE_DIR at once, one record per device (older ones go)", async () => {
    const { t, c } = await start();
    const mac = randomMac();
    expect((await c.report(mac, { state: "updating" })).status).toBe(204);
    const dir = join(t.settings.stateDir, "device-reports");
    const first = (await readdir(dir)).filter((name) => name.startsWith(mac));
    expect(first).toHaveLength(1);
    expect((await c.report(mac, { state: "ok", firmware_version: "2" })).status).toBe(204);
    const names = (await readdir(dir)).filter((name) => name.startsWith(mac));
    expect(names.length).toBeGreaterThanOrEqual(1);
    const newest = names.sort().at(-1) as string;
    expect(newest).not.toBe(first[0]);
    // The older record is deleted in the background, after the answer.
    await expect.poll(async () => (await readdir(dir)).filter((name) => name.startsWith(mac))).toEqual([newest]);
  });

  it("fetches are written as one batch however many devices read, and the writes are counted", async () => {
    const { t, c } = await start();
    const macs = Array.from({ length: 20 }, () => randomMac());
    for (const mac of macs) await c.saveConfig(mac, { deviceName: mac });
    const started = Date.now();
    for (let round = 0; round < 3; round++) for (const mac of macs) await c.read(mac);
    const readFor = Date.now() - started;
    const dir = join(t.settings.stateDir, "device-fetches");
    // One batch key, written within 5 s of the first read.
    await expect.poll(async () => (await readdir(dir).catch(() => [])).length, { timeout: 10_000 }).toBe(1);
    const writes = async () =>
      metricValue(await (await t.app.request("/metrics")).text(), "iot_device_record_writes_total", {
        kind: "fetches",
      });
    // Counted once the write has finished, which is after its file appears (seen 0 here under stress-ng).
    await expect.poll(writes, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    // 60 reads of 20 devices: one write per FLUSH_MS they spanned, not one per read or device.
    expect(await writes()).toBeLessThanOrEqual(1 + Math.floor(readFor / FLUSH_MS));
  }, 20_000);
});

describe("who may report", () => {
  it("device mode: a token reports for its own MAC; another MAC is 403, no token 401; nothing recorded", async () => {
    const { t, c } = await start(deviceAuthEnv());
    const [mine, other] = [randomMac(), randomMac()];
    const issued = await t.app.request(`/api/devices/${mine}/token`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const { token } = (await issued.json()) as { token: string };
    const as = { Authorization: `Bearer ${token}` };
    const forbidden = await expectError(await c.report(other, { state: "ok" }, as), 403, "FORBIDDEN");
    expect(JSON.stringify(forbidden)).not.toContain(token);
    await expectError(await c.report(mine, { state: "ok" }), 401, "UNAUTHORIZED");
    await expectError(await c.admin(`/api/devices/${other}`), 404, "RECORD_NOT_FOUND");
    expect((await c.report(mine, { state: "ok", firmware_version: "own" }, as)).status).toBe(204);
    expect((await c.device(mine)).firmware_version).toBe("own");
  });

  it("open mode: reports for MACs with neither a config nor a record count as misses, then 429", async () => {
    const { c } = await start({ ...FLEET_ENV(), DEVICE_READ_MISS_LIMIT: "3" });
    const known = randomMac();
    await c.saveConfig(known, { deviceName: "known" });
    // A device with a config is no miss, however often it reports.
    for (let i = 0; i < 5; i++) expect((await c.report(known, { state: "ok" })).status).toBe(204);
    const invented = Array.from({ length: 3 }, () => randomMac());
    for (const mac of invented) expect((await c.report(mac, { state: "ok" })).status).toBe(204);
    // Once known, its next reports are no misses either; but this address is over its limit now.
    const limited = await expectError(await c.report(randomMac(), { state: "ok" }), 429, "TOO_MANY_REQUESTS");
    expect(limited.details.max_misses_per_minute).toBe(3);
    await expectError(await c.report(known, { state: "ok" }), 429, "TOO_MANY_REQUESTS");
  });
});
