/**
 * The fleet contract (SPEC "Devices" → "What devices fetched and report"), run in one line
 * per runtime: device reads recorded, status reports over HTTP, the fleet view and its
 * sync values, the gauge. A target is started with an admin token (FLEET_ENV) and device
 * reads open; its `fetch` sends no credentials of its own. Every test uses MACs of its own,
 * so one target serves them all.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN } from "./device-auth-contract.js";
import { chunked, expectError, metricValue } from "./http.js";

export interface FleetTarget {
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export const FLEET_ENV = (): Record<string, string> => ({
  API_TOKEN_HASHES: createHash("sha256").update(ADMIN_TOKEN).digest("hex"),
});

export const randomMac = () => Array.from(randomBytes(6), (b) => b.toString(16).padStart(2, "0")).join("-");

export interface DeviceRowBody {
  mac_address: string;
  config_etag: string | null;
  fetched_etag: string | null;
  applied_etag: string | null;
  firmware_version: string | null;
  state: string | null;
  message: string | null;
  last_seen: string | null;
  sync: string;
}

/** Helpers over a target, for the contract and the process tests. */
export function fleetClient(fetchAt: () => FleetTarget["fetch"]) {
  const admin = (path: string, init: RequestInit = {}) =>
    fetchAt()(path, {
      ...init,
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers as Record<string, string>) },
    });
  return {
    admin,
    async saveConfig(mac: string, content: Record<string, unknown>): Promise<void> {
      const res = await admin(`/api/configs/${mac}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ content }),
      });
      expect(res.status).toBe(200);
    },
    /** A device read; the ETag answered (200 or 304). */
    async read(mac: string, ifNoneMatch?: string): Promise<{ status: number; etag: string | null }> {
      const res = await fetchAt()(`/files/configs/${mac}.json`, {
        headers: ifNoneMatch ? { "If-None-Match": ifNoneMatch } : {},
      });
      await res.arrayBuffer();
      return { status: res.status, etag: res.headers.get("etag") };
    },
    report: (mac: string, body: unknown, headers: Record<string, string> = {}) =>
      fetchAt()(`/files/status/${mac}.json`, {
        method: "PUT",
        headers: { "Content-Type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    async device(mac: string): Promise<DeviceRowBody> {
      const res = await admin(`/api/devices/${mac}`);
      expect(res.status, await res.clone().text()).toBe(200);
      return (await res.json()) as DeviceRowBody;
    },
    async list(query = ""): Promise<{ devices: DeviceRowBody[]; count: number }> {
      const res = await admin(`/api/devices${query}`);
      expect(res.status).toBe(200);
      return (await res.json()) as { devices: DeviceRowBody[]; count: number };
    },
  };
}

export function fleetContract(name: string, start: () => Promise<FleetTarget>): void {
  describe(`fleet contract: ${name}`, () => {
    let t: FleetTarget;
    beforeAll(async () => {
      t = await start();
    }, 120_000);
    afterAll(async () => {
      await t?.close();
    });
    const c = fleetClient(() => t.fetch);

    it("a config never read is unseen, with the ETag a read sends", async () => {
      const mac = randomMac();
      await c.saveConfig(mac, { deviceName: "never read" });
      const row = await c.device(mac);
      expect(row).toEqual({
        mac_address: mac,
        config_etag: expect.stringMatching(/^"[0-9a-f]{64}"$/),
        fetched_etag: null,
        applied_etag: null,
        firmware_version: null,
        state: null,
        message: null,
        last_seen: null,
        sync: "unseen",
      });
      expect((await c.read(mac)).etag).toBe(row.config_etag);
    });

    it("reads record what the device holds: 200 and 304 make it current, a new config makes it behind until read", async () => {
      const mac = randomMac();
      await c.saveConfig(mac, { deviceName: "v1" });
      const first = await c.read(mac);
      expect(first.status).toBe(200);
      const row = await c.device(mac);
      expect(row.fetched_etag).toBe(first.etag);
      expect(row.sync).toBe("current");
      expect(Date.now() - Date.parse(row.last_seen as string)).toBeLessThan(60_000);
      await c.saveConfig(mac, { deviceName: "v2" });
      const behind = await c.device(mac);
      expect(behind.sync).toBe("behind");
      expect(behind.fetched_etag).toBe(first.etag);
      const second = await c.read(mac);
      expect((await c.read(mac, second.etag as string)).status).toBe(304);
      expect(await c.device(mac)).toMatchObject({
        fetched_etag: second.etag,
        config_etag: second.etag,
        sync: "current",
      });
    });

    it("a report is recorded (204): applied ETag quoted even when sent bare, firmware, state, message; sync follows the report", async () => {
      const mac = randomMac();
      await c.saveConfig(mac, { deviceName: "reporting" });
      const { etag } = await c.read(mac);
      const bare = (etag as string).replace(/"/g, "");
      const res = await c.report(mac, {
        state: "ok",
        config_etag: bare,
        firmware_version: "1.4.2",
        message: "hi",
        x: 1,
      });
      expect(res.status).toBe(204);
      expect(await c.device(mac)).toMatchObject({
        applied_etag: etag,
        fetched_etag: etag,
        firmware_version: "1.4.2",
        state: "ok",
        message: "hi",
        sync: "current",
      });
      await c.saveConfig(mac, { deviceName: "reporting, v2" });
      const next = await c.read(mac);
      // It fetched the new one, but its last report still names the old: behind until it says otherwise.
      expect(await c.device(mac)).toMatchObject({ fetched_etag: next.etag, applied_etag: etag, sync: "behind" });
      expect((await c.report(mac, { state: "updating" })).status).toBe(204);
      // A report naming no config: its last fetch decides.
      expect(await c.device(mac)).toMatchObject({ state: "updating", applied_etag: null, sync: "current" });
      expect((await c.report(mac, { state: "failed", config_etag: etag, message: "bad config" })).status).toBe(204);
      expect(await c.device(mac)).toMatchObject({ state: "failed", fetched_etag: etag, sync: "behind" });
    });

    it("lists every device with a config or seen, sorted by MAC, and filters by sync", async () => {
      const prefix = randomMac().slice(0, 11);
      const [a, b, d] = ["03", "01", "02"].map((last) => `${prefix}-00-${last}`) as [string, string, string];
      await c.saveConfig(a, { deviceName: "a" });
      await c.saveConfig(b, { deviceName: "b" });
      await c.read(b);
      // d has no config: seen by its report only.
      expect((await c.report(d, { state: "ok" })).status).toBe(204);
      const { devices, count } = await c.list();
      expect(count).toBe(devices.length);
      const macs = devices.map((row) => row.mac_address);
      expect(macs).toEqual([...macs].sort());
      const mine = devices.filter((row) => row.mac_address.startsWith(prefix));
      expect(mine.map((row) => [row.mac_address, row.sync])).toEqual([
        [b, "current"],
        [d, "behind"],
        [a, "unseen"],
      ]);
      expect(mine[1]?.config_etag).toBeNull();
      for (const sync of ["unseen", "current", "behind"]) {
        const filtered = await c.list(`?sync=${sync}`);
        expect(filtered.devices.every((row) => row.sync === sync)).toBe(true);
        expect(filtered.count).toBe(filtered.devices.length);
        expect(filtered.devices.filter((row) => row.mac_address.startsWith(prefix))).toHaveLength(1);
      }
      const bad = await expectError(await c.admin("/api/devices?sync=stale"), 400, "VALIDATION_FAILED");
      expect(bad.details.field).toBe("sync");
    });

    it("one device: 404 when it has neither a config nor a record, 400 for a bad MAC, 401 without the admin token", async () => {
      await expectError(await c.admin(`/api/devices/${randomMac()}`), 404, "RECORD_NOT_FOUND");
      await expectError(await c.admin("/api/devices/not-a-mac"), 400, "INVALID_OPERATION");
      await expectError(await t.fetch("/api/devices"), 401, "UNAUTHORIZED");
      await expectError(await t.fetch(`/api/devices/${randomMac()}`), 401, "UNAUTHORIZED");
    });

    it("deleting a config keeps what is known of the device", async () => {
      const mac = randomMac();
      await c.saveConfig(mac, { deviceName: "to delete" });
      const { etag } = await c.read(mac);
      expect((await c.admin(`/api/configs/${mac}`, { method: "DELETE" })).status).toBe(204);
      expect(await c.device(mac)).toMatchObject({ config_etag: null, fetched_etag: etag, sync: "behind" });
    });

    it("refused reports record nothing: 400 naming the field, 413 over 4 KiB (declared or chunked), 400 for a bad name", async () => {
      const mac = randomMac();
      const before = await (await t.fetch("/metrics")).text();
      const refused = [
        ["not json", "body"],
        [{ config_etag: "abc" }, "state"],
        [{ state: "done" }, "state"],
        [{ state: "ok", firmware_version: "v".repeat(65) }, "firmware_version"],
        [{ state: "ok", message: "m".repeat(201) }, "message"],
        [{ state: "ok", message: "bell\u0007" }, "message"],
        [{ state: "ok", config_etag: 12 }, "config_etag"],
        [[], "body"],
      ] as const;
      for (const [body, field] of refused) {
        const error = await expectError(await c.report(mac, body), 400, "VALIDATION_FAILED");
        expect(error.details.field).toBe(field);
      }
      const big = JSON.stringify({ state: "ok", pad: "x".repeat(4096) });
      await expectError(await c.report(mac, big), 413, "PAYLOAD_TOO_LARGE");
      const streamed = await t.fetch(`/files/status/${mac}.json`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: chunked(new TextEncoder().encode(big), 1024),
        duplex: "half",
      } as RequestInit);
      await expectError(streamed, 413, "PAYLOAD_TOO_LARGE");
      await expectError(await c.report("aa-bb-cc", { state: "ok" }), 400, "INVALID_OPERATION");
      await expectError(await c.admin(`/api/devices/${mac}`), 404, "RECORD_NOT_FOUND");
      // Exactly 4 KiB is accepted.
      const exact = JSON.stringify({ state: "ok", pad: "" });
      const padded = JSON.stringify({ state: "ok", pad: "x".repeat(4096 - exact.length) });
      expect(new TextEncoder().encode(padded).length).toBe(4096);
      expect((await c.report(mac, padded)).status).toBe(204);
      const after = await (await t.fetch("/metrics")).text();
      const invalid = (text: string) => metricValue(text, "iot_device_status_reports_total", { state: "invalid" });
      expect(invalid(after) - invalid(before)).toBe(refused.length + 3);
    });

    it("iot_devices: the three sync values add up to the device count", async () => {
      const mac = randomMac();
      await c.saveConfig(mac, { deviceName: "counted" });
      await c.read(mac);
      const { count } = await c.list();
      const text = await (await t.fetch("/metrics")).text();
      const values = ["unseen", "current", "behind"].map((sync) => metricValue(text, "iot_devices", { sync }));
      expect(values.reduce((sum, v) => sum + v, 0)).toBe(count);
      expect(values[1]).toBeGreaterThan(0);
      expect(text).not.toContain(mac);
    });
  });
}
