/**
 * The HTTP contract suite (docs/reference.md), run against every runtime: in-process on Node,
 * and over the network against spawned Node, Deno and Bun servers and a Worker under
 * workerd. A target is anything that answers `fetch(path, init)`.
 *
 * Targets must be started with MAX_UPLOAD_BYTES=262144 and a signing key whose
 * private half signs through `target.sign`; `brokerWsUrl`, when given, is the
 * WebSocket URL of the broker the target publishes to. A target that cannot publish
 * to a broker at all (an in-process app with the no-op sink) says why in
 * `ContractOptions.notificationsNotApplicable`; a server target without a broker is
 * missing a prerequisite (Mosquitto), and its round trip is skipped loudly.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscribe } from "./mosquitto.js";
import { freshTimestamp } from "./upload-stream.js";

export const CONTRACT_MAX_UPLOAD_BYTES = 262_144;

export interface ContractTarget {
  /** Sends the target's admin credentials, when it has any (see auth-modes.ts). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Sends no credentials; defaults to `fetch` (an anonymous target). */
  fetchAnonymous?(path: string, init?: RequestInit): Promise<Response>;
  authMode?: "anonymous" | "API tokens" | "OIDC";
  sign(message: string): string;
  brokerWsUrl?: string;
  close(): Promise<void>;
}

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");
const randomMac = () => Array.from(randomBytes(6), (b) => b.toString(16).padStart(2, "0")).join("-");
const randomName = (ext = "bin") => `fw-${randomBytes(6).toString("hex")}.${ext}`;

async function expectErrorShape(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({
    code,
    status,
    error: expect.any(String),
    details: expect.any(Object),
    correlationId: expect.any(String),
  });
  expect(res.headers.get("x-request-id")).toBe(body.correlationId);
  return body;
}

export interface ContractOptions {
  /** Why the MQTT round trip does not apply to this target; its test is then listed as not applicable. */
  notificationsNotApplicable?: string;
}

export function httpContract(name: string, start: () => Promise<ContractTarget>, options: ContractOptions = {}): void {
  describe(`HTTP contract: ${name}`, () => {
    let t: ContractTarget;
    beforeAll(async () => {
      t = await start();
    }, 120_000);
    afterAll(async () => {
      await t?.close();
    });

    const put = (mac: string, body: unknown) =>
      t.fetch(`/api/configs/${mac}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    const upload = (
      filename: string,
      data: Uint8Array | string,
      timestamp = freshTimestamp(),
      signature = t.sign(timestamp),
    ) => {
      const form = new FormData();
      form.set("timestamp", timestamp);
      form.set("signature", signature);
      form.set("file", new Blob([data as BlobPart]), filename);
      return t.fetch("/api/assets", { method: "POST", body: form });
    };

    it("admin API: open without credentials only when the target is anonymous; health, docs, uploads and device reads always open", async () => {
      const anonymous = t.fetchAnonymous ?? t.fetch;
      const mac = randomMac();
      const attempt = await anonymous(`/api/configs/${mac}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ content: {} }),
      });
      if ((t.authMode ?? "anonymous") === "anonymous") {
        expect(attempt.status).toBe(200);
      } else {
        const refused = await expectErrorShape(attempt, 401, "UNAUTHORIZED");
        expect(refused.details).toEqual({ reason: "missing" });
        expect(attempt.headers.get("www-authenticate")).toMatch(/^Bearer /);
        await expectErrorShape(await anonymous("/api/configs"), 401, "UNAUTHORIZED");
        // With credentials the same request goes through.
        expect((await put(mac, { content: {} })).status).toBe(200);
      }
      expect((await anonymous("/api/health")).status).toBe(200);
      expect((await anonymous("/api/docs/openapi.json")).status).toBe(200);
      expect((await anonymous(`/files/configs/${mac}.json`)).status).toBe(200);
      const name = randomName();
      const timestamp = freshTimestamp();
      const form = new FormData();
      form.set("timestamp", timestamp);
      form.set("signature", t.sign(timestamp));
      form.set("file", new Blob(["signed, no token"]), name);
      expect((await anonymous("/api/assets", { method: "POST", body: form })).status).toBe(200);
    });

    it("creates, reads, lists, refuses to overwrite, deletes a config", async () => {
      const mac = randomMac();
      const content = {
        deviceName: "Contract",
        deviceEntityId: "sensor.contract",
        enableOTA: false,
        nested: { a: [1, 2] },
      };
      const created = await put(mac.toUpperCase(), { content });
      expect(created.status).toBe(200);
      expect(await created.json()).toEqual({
        mac_address: mac,
        device_name: "Contract",
        device_entity_id: "sensor.contract",
        enable_ota: false,
        content,
      });
      expect(await (await t.fetch(`/api/configs/${mac}`)).json()).toMatchObject({ mac_address: mac, content });
      const list = (await (await t.fetch("/api/configs")).json()) as {
        configs: Array<{ mac_address: string }>;
        count: number;
      };
      expect(list.configs.map((c) => c.mac_address)).toContain(mac);
      expect(list.count).toBe(list.configs.length);
      const macs = list.configs.map((c) => c.mac_address);
      expect(macs).toEqual([...macs].sort());
      const conflict = await expectErrorShape(
        await put(mac, { content: {}, allow_overwrite: false }),
        409,
        "RECORD_EXISTS",
      );
      expect(conflict.error).toContain(mac);
      const deleted = await t.fetch(`/api/configs/${mac}`, { method: "DELETE" });
      expect(deleted.status).toBe(204);
      expect(await deleted.text()).toBe("");
      await expectErrorShape(await t.fetch(`/api/configs/${mac}`), 404, "RECORD_NOT_FOUND");
      await expectErrorShape(await t.fetch(`/api/configs/${mac}`, { method: "DELETE" }), 404, "RECORD_NOT_FOUND");
    });

    it("refuses bad MACs and bad bodies in the API's error shape", async () => {
      await expectErrorShape(await t.fetch("/api/configs/aa:bb:cc:dd:ee:ff"), 400, "INVALID_OPERATION");
      await expectErrorShape(await put("aabbccddeeff", { content: {} }), 400, "INVALID_OPERATION");
      await expectErrorShape(await put(randomMac(), { content: [1] }), 400, "VALIDATION_FAILED");
      await expectErrorShape(await put(randomMac(), {}), 400, "VALIDATION_FAILED");
      const malformed = await t.fetch(`/api/configs/${randomMac()}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: "{",
      });
      await expectErrorShape(malformed, 400, "VALIDATION_FAILED");
      const res = await t.fetch("/api/configs/nope", { headers: { "X-Request-Id": "contract-42" } });
      expect((await expectErrorShape(res, 400, "INVALID_OPERATION")).correlationId).toBe("contract-42");
    });

    it("stores a signed upload and refuses bad ones, naming the field", async () => {
      const name = randomName();
      const ok = await upload(name, "firmware image");
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ filename: name, size: 14, uploaded_at: expect.stringMatching(/\+00:00$/) });
      const signature = await expectErrorShape(
        await upload(randomName(), "x", freshTimestamp(), t.sign("other")),
        400,
        "VALIDATION_FAILED",
      );
      expect((signature.details as { field: string }).field).toBe("signature");
      const stale = await expectErrorShape(
        await upload(randomName(), "x", "2001-01-01T00:00:00Z"),
        400,
        "VALIDATION_FAILED",
      );
      expect((stale.details as { field: string }).field).toBe("timestamp");
      const badName = await expectErrorShape(await upload("../escape.bin", "x"), 400, "VALIDATION_FAILED");
      expect((badName.details as { field: string }).field).toBe("filename");
      const form = new FormData();
      form.set("timestamp", freshTimestamp());
      form.set("file", new Blob(["x"]), randomName());
      const missing = await expectErrorShape(
        await t.fetch("/api/assets", { method: "POST", body: form }),
        400,
        "VALIDATION_FAILED",
      );
      expect((missing.details as { field: string }).field).toBe("signature");
    });

    it("accepts each upload signature once, binds version 2 to the name and bytes, serves assets inertly", async () => {
      const timestamp = freshTimestamp();
      const name = randomName("html");
      expect((await upload(name, "<script>alert(1)</script>", timestamp)).status).toBe(200);
      // The captured pair, replayed with another file under another name: refused, not stored.
      const evil = randomName();
      const replay = await expectErrorShape(await upload(evil, "malware", timestamp), 400, "VALIDATION_FAILED");
      expect(replay.details).toMatchObject({ field: "signature" });
      expect(String(replay.error)).toContain("already used");
      await expectErrorShape(await t.fetch(`/files/assets/${evil}`), 404, "RECORD_NOT_FOUND");
      const served = await t.fetch(`/files/assets/${name}`);
      expect(served.headers.get("x-content-type-options")).toBe("nosniff");
      expect(served.headers.get("content-security-policy")).toBe("sandbox; default-src 'none'");
      await served.arrayBuffer();

      const v2 = (file: string, data: string, signedData = data) => {
        const ts = freshTimestamp();
        const form = new FormData();
        form.set("signature_version", "2");
        form.set("timestamp", ts);
        form.set("signature", t.sign(`${ts}\n${file}\n${sha256(signedData)}`));
        form.set("file", new Blob([data]), file);
        return t.fetch("/api/assets", { method: "POST", body: form });
      };
      const good = randomName();
      expect((await v2(good, "firmware v2")).status).toBe(200);
      const tampered = await expectErrorShape(await v2(randomName(), "malware", "firmware"), 400, "VALIDATION_FAILED");
      expect(tampered.details).toMatchObject({ field: "signature" });
      expect(await (await t.fetch(`/files/assets/${good}`)).text()).toBe("firmware v2");
    });

    it("refuses a config number a double cannot hold exactly", async () => {
      const res = await t.fetch(`/api/configs/${randomMac()}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: '{"content":{"big":12345678901234567890}}',
      });
      expect((await expectErrorShape(res, 400, "VALIDATION_FAILED")).details).toMatchObject({ field: "content" });
    });

    it("answers 413 for an upload over MAX_UPLOAD_BYTES and stores nothing", async () => {
      const name = randomName();
      await expectErrorShape(
        await upload(name, new Uint8Array(CONTRACT_MAX_UPLOAD_BYTES + 1024)),
        413,
        "PAYLOAD_TOO_LARGE",
      );
      await expectErrorShape(await t.fetch(`/files/assets/${name}`), 404, "RECORD_NOT_FOUND");
    });

    it("serves a config to devices exactly as stored, with a strong ETag and 304", async () => {
      const mac = randomMac();
      await put(mac, { content: { deviceName: "dev", list: [1, { x: true }] } });
      const res = await t.fetch(`/files/configs/${mac.toUpperCase()}.json`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toBe(JSON.stringify({ deviceName: "dev", list: [1, { x: true }] }, null, 2));
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(res.headers.get("etag")).toBe(`"${sha256(text)}"`);
      expect(res.headers.get("content-length")).toBe(String(new TextEncoder().encode(text).length));
      expect(Date.parse(res.headers.get("last-modified") ?? "")).toBeGreaterThan(Date.now() - 120_000);
      const cached = await t.fetch(`/files/configs/${mac}.json`, {
        headers: { "If-None-Match": res.headers.get("etag") ?? "" },
      });
      expect(cached.status).toBe(304);
      expect(await cached.text()).toBe("");
      await expectErrorShape(await t.fetch(`/files/configs/${randomMac()}.json`), 404, "RECORD_NOT_FOUND");
      await expectErrorShape(await t.fetch("/files/configs/not-a-mac.json"), 400, "INVALID_OPERATION");
    });

    it("serves an asset with ranges (206, 416, If-Range) for resumable downloads", async () => {
      const name = randomName();
      const data = new Uint8Array(randomBytes(100_000));
      expect((await upload(name, data)).status).toBe(200);
      const full = await t.fetch(`/files/assets/${name}`);
      expect(full.status).toBe(200);
      expect(new Uint8Array(await full.arrayBuffer())).toEqual(data);
      const etag = `"${sha256(data)}"`;
      expect(full.headers.get("etag")).toBe(etag);
      expect(full.headers.get("accept-ranges")).toBe("bytes");
      expect(full.headers.get("content-type")).toBe("application/octet-stream");
      const part = await t.fetch(`/files/assets/${name}`, { headers: { Range: "bytes=40000-" } });
      expect(part.status).toBe(206);
      expect(part.headers.get("content-range")).toBe("bytes 40000-99999/100000");
      expect(new Uint8Array(await part.arrayBuffer())).toEqual(data.subarray(40_000));
      const suffix = await t.fetch(`/files/assets/${name}`, { headers: { Range: "bytes=-10" } });
      expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(data.subarray(99_990));
      const beyond = await t.fetch(`/files/assets/${name}`, { headers: { Range: "bytes=100000-" } });
      expect(beyond.status).toBe(416);
      expect(beyond.headers.get("content-range")).toBe("bytes */100000");
      await beyond.arrayBuffer();
      const changed = await t.fetch(`/files/assets/${name}`, {
        headers: { Range: "bytes=0-9", "If-Range": '"stale"' },
      });
      expect(changed.status).toBe(200);
      await changed.arrayBuffer();
      const head = await t.fetch(`/files/assets/${name}`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("etag")).toBe(etag);
      expect(await head.text()).toBe("");
      const notModified = await t.fetch(`/files/assets/${name}`, { headers: { "If-None-Match": etag } });
      expect(notModified.status).toBe(304);
      await expectErrorShape(await t.fetch(`/files/assets/${randomName()}`), 404, "RECORD_NOT_FOUND");
    });

    it("reports health, metrics and the OpenAPI document", async () => {
      const health = await t.fetch("/api/health");
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({
        status: "healthy",
        storage: { ok: true },
        notifications: { sink: expect.any(String) },
      });
      const metrics = await t.fetch("/metrics");
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain("iot_config_operations_total");
      const doc = (await (await t.fetch("/api/docs/openapi.json")).json()) as { openapi: string };
      expect(doc.openapi).toBe("3.1.0");
    });

    const roundTrip = "notifies devices over MQTT when a config is saved (round trip through the broker)";
    const notApplicable = options.notificationsNotApplicable;
    it.skipIf(notApplicable !== undefined)(
      notApplicable === undefined ? roundTrip : `${roundTrip}: not applicable to this target (${notApplicable})`,
      async (ctx) => {
        if (!t.brokerWsUrl) {
          // A server target publishes to a broker; only a missing Mosquitto (never under CI) gets here.
          console.warn(`*** ${name}: no Mosquitto to publish to, notification round trip SKIPPED ***`);
          ctx.skip();
          return;
        }
        const sub = await subscribe(t.brokerWsUrl, ["iotsupport/updates/#"]);
        try {
          const mac = randomMac();
          expect((await put(mac, { content: { deviceName: "notify" } })).status).toBe(200);
          const name = randomName();
          expect((await upload(name, "fw")).status).toBe(200);
          const deadline = Date.now() + 10_000;
          const want = [`{"filename":"${mac}.json"}`, `{"filename":"${name}"}`];
          while (!want.every((w) => sub.messages.some((m) => m.payload === w)) && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 25));
          }
          expect(sub.messages.find((m) => m.payload === want[0])).toMatchObject({
            topic: "iotsupport/updates/configs",
            qos: 1,
            retain: false,
          });
          expect(sub.messages.find((m) => m.payload === want[1])).toMatchObject({
            topic: "iotsupport/updates/assets",
            qos: 1,
            retain: false,
          });
        } finally {
          await sub.close();
        }
      },
    );
  });
}
