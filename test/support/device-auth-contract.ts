/**
 * The device-identity contract (SPEC "Devices" → "Identity and scoped reads"), run in one
 * line per runtime: a target started with DEVICE_AUTH=device and an admin token, whose
 * `fetch` sends no credentials of its own (each request says what it carries).
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshTimestamp } from "./upload-stream.js";

export interface DeviceAuthTarget {
  fetch(path: string, init?: RequestInit): Promise<Response>;
  sign(message: string): string;
  close(): Promise<void>;
}

/** The admin token every target is started with (its hash in API_TOKEN_HASHES). */
export const ADMIN_TOKEN = `iot_${randomBytes(32).toString("base64url")}`;
export const deviceAuthEnv = (): Record<string, string> => ({
  DEVICE_AUTH: "device",
  API_TOKEN_HASHES: createHash("sha256").update(ADMIN_TOKEN).digest("hex"),
});

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const randomMac = () => Array.from(randomBytes(6), (b) => b.toString(16).padStart(2, "0")).join("-");

export function deviceAuthContract(name: string, start: () => Promise<DeviceAuthTarget>): void {
  describe(`device identity contract: ${name}`, () => {
    let t: DeviceAuthTarget;
    beforeAll(async () => {
      t = await start();
    });
    afterAll(async () => {
      await t?.close();
    });

    const admin = (path: string, init: RequestInit = {}) =>
      t.fetch(path, { ...init, headers: { ...bearer(ADMIN_TOKEN), ...(init.headers as Record<string, string>) } });
    const issue = async (mac: string) => {
      const res = await admin(`/api/devices/${mac}/token`, { method: "POST" });
      expect(res.status).toBe(201);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const body = (await res.json()) as { mac_address: string; token: string; issued_at: string };
      expect(body.mac_address).toBe(mac);
      return body.token;
    };
    const save = async (mac: string, content: Record<string, unknown>) => {
      const res = await admin(`/api/configs/${mac}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ content }),
      });
      expect(res.status).toBe(200);
    };
    const read = (mac: string, token?: string, headers: Record<string, string> = {}) =>
      t.fetch(`/files/configs/${mac}.json`, { headers: { ...(token ? bearer(token) : {}), ...headers } });
    /** An error body with what differs between two requests (the name, the correlation id) taken out. */
    const comparable = async (res: Response, mac: string) => {
      const body = (await res.json()) as Record<string, unknown>;
      return JSON.stringify({ ...body, correlationId: "id" }).replaceAll(mac, "MAC");
    };

    it("a device reads its own config with its own token (issued before the config existed), 200 then 304", async () => {
      const mac = randomMac();
      const token = await issue(mac);
      expect((await read(mac, token)).status).toBe(404);
      await save(mac, { deviceName: "own" });
      const ok = await read(mac, token);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ deviceName: "own" });
      const etag = ok.headers.get("etag") as string;
      // Read again, so the cached copy (and on Node, Deno and Bun the fast path) answers too.
      for (let i = 0; i < 3; i++) {
        const again = await read(mac, token, { "If-None-Match": etag });
        expect(again.status).toBe(304);
        expect(again.headers.get("etag")).toBe(etag);
      }
    });

    it("another device's config answers exactly as an absent one: 404, the same body but for the name", async () => {
      const [mine, theirs, nobody] = [randomMac(), randomMac(), randomMac()];
      const token = await issue(mine);
      await save(theirs, { secret: "wifi password" });
      const other = await read(theirs, token);
      const absent = await read(nobody, token);
      expect(other.status).toBe(404);
      expect(absent.status).toBe(404);
      expect(await comparable(other, theirs)).toBe(await comparable(absent, nobody));
    });

    it("no token, a wrong token, an admin token or a token in the URL: 401 with WWW-Authenticate", async () => {
      const mac = randomMac();
      const token = await issue(mac);
      await save(mac, { deviceName: "guarded" });
      for (const res of [
        await read(mac),
        await read(mac, `${token.slice(0, -2)}xx`),
        await read(mac, ADMIN_TOKEN),
        await t.fetch(`/files/configs/${mac}.json?access_token=${token}`),
      ]) {
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm=/);
        const body = await res.text();
        expect(body).toContain('"code":"UNAUTHORIZED"');
        expect(body).not.toContain(token);
      }
    });

    it("a device token reads the shared assets", async () => {
      const token = await issue(randomMac());
      const timestamp = freshTimestamp();
      const form = new FormData();
      form.set("timestamp", timestamp);
      form.set("signature", t.sign(timestamp));
      const name = `fw-${randomBytes(4).toString("hex")}.bin`;
      form.set("file", new Blob([new Uint8Array([1, 2, 3])]), name);
      expect((await t.fetch("/api/assets", { method: "POST", body: form })).status).toBe(200);
      const res = await t.fetch(`/files/assets/${name}`, { headers: bearer(token) });
      expect(res.status).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
      expect((await t.fetch(`/files/assets/${name}`)).status).toBe(401);
    });

    it("rotates without lockout, and a revocation holds at once", async () => {
      const mac = randomMac();
      await save(mac, { deviceName: "rotating" });
      const first = await issue(mac);
      const second = await issue(mac);
      expect((await read(mac, first)).status).toBe(200);
      expect((await read(mac, second)).status).toBe(200);
      expect((await read(mac, first)).status).toBe(401);
      expect((await admin(`/api/devices/${mac}/token`, { method: "DELETE" })).status).toBe(204);
      expect((await read(mac, second)).status).toBe(401);
    });

    it("token routes are admin routes, and refuse a bad MAC", async () => {
      const mac = randomMac();
      expect((await t.fetch(`/api/devices/${mac}/token`, { method: "POST" })).status).toBe(401);
      const token = await issue(mac);
      expect((await t.fetch(`/api/devices/${mac}/token`, { method: "POST", headers: bearer(token) })).status).toBe(401);
      const bad = await admin("/api/devices/not-a-mac/token", { method: "POST" });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { code: string }).code).toBe("INVALID_OPERATION");
    });
  });
}
