/**
 * API tokens (API_TOKEN_HASHES, METRICS_TOKEN_HASHES, DEVICE_TOKEN_HASHES), which routes
 * need what, and ALLOWED_HOSTS against DNS rebinding. In-process apps on the real
 * filesystem; the OIDC side is in auth-oidc.test.ts, whole processes in auth-runtime.test.ts.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, signedUpload, type TestApp } from "./support/app.js";
import { expectError, metricValue } from "./support/http.js";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const ADMIN = "iot_admin-token-for-tests-0123456789abcdefghijkl";
const OTHER_ADMIN = "iot_second-admin-token-abcdefghijklmnopqrstuvwxyz";
const METRICS = "iot_metrics-scraper-token-0123456789abcdefghijk";
const DEVICE = "iot_device-fleet-token-0123456789abcdefghijklmn";
const MAC = "aa-bb-cc-dd-ee-ff";
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp("fs", {
    API_TOKEN_HASHES: `${sha256(ADMIN)}, ${sha256(OTHER_ADMIN).toUpperCase()}`,
    METRICS_TOKEN_HASHES: sha256(METRICS),
    DEVICE_TOKEN_HASHES: sha256(DEVICE),
    CORS_ORIGINS: "http://admin.example",
  });
});
afterAll(async () => {
  await t?.cleanup();
});

const put = (headers: Record<string, string> = {}) =>
  t.app.request(`/api/configs/${MAC}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify({ content: { deviceName: "x" } }),
  });

describe("API tokens", () => {
  it("lets a listed token (any listed one, hash in any letter case) change configs", async () => {
    expect((await put(bearer(ADMIN))).status).toBe(200);
    expect((await put(bearer(OTHER_ADMIN))).status).toBe(200);
    expect((await t.app.request(`/api/configs/${MAC}`, { headers: bearer(ADMIN) })).status).toBe(200);
    expect((await t.app.request("/api/configs", { headers: bearer(ADMIN) })).status).toBe(200);
  });

  it("refuses everything admin without a valid token: 401 in the API's error shape with WWW-Authenticate, nothing changed", async () => {
    const published = t.sink.published.length;
    for (const [headers, reason] of [
      [{}, "missing"],
      [bearer("iot_not-a-token-of-ours"), "unknown_token"],
      [bearer(METRICS), "unknown_token"],
      [bearer(DEVICE), "unknown_token"],
      [{ Authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString("base64")}` }, "malformed"],
    ] as const) {
      for (const res of [
        await put(headers),
        await t.app.request(`/api/configs/${MAC}`, { method: "DELETE", headers }),
        await t.app.request("/api/configs", { headers }),
      ]) {
        const body = await expectError(res, 401, "UNAUTHORIZED");
        expect(body.details).toEqual({ reason });
        expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="iot-support"/);
      }
    }
    expect(t.sink.published.length).toBe(published);
    const metrics = await (await t.app.request("/metrics", { headers: bearer(METRICS) })).text();
    expect(metricValue(metrics, "iot_auth_failures_total", { reason: "missing" })).toBeGreaterThanOrEqual(3);
    expect(metricValue(metrics, "iot_auth_failures_total", { reason: "unknown_token" })).toBeGreaterThanOrEqual(9);
    expect(metrics).not.toContain(ADMIN);
  });

  it("keeps health and the API docs open, and uploads on their signature alone", async () => {
    expect((await t.app.request("/api/health")).status).toBe(200);
    expect((await t.app.request("/api/docs")).status).toBe(200);
    expect((await t.app.request("/api/docs/openapi.json")).status).toBe(200);
    const { body, contentType } = signedUpload(t, "fw.bin");
    const upload = await t.app.request("/api/assets", {
      method: "POST",
      headers: { "Content-Type": contentType },
      body,
    });
    expect(upload.status).toBe(200);
  });

  it("needs the metrics token for /metrics and the device token for /files when those lists are set", async () => {
    await expectError(await t.app.request("/metrics"), 401, "UNAUTHORIZED");
    await expectError(await t.app.request("/metrics", { headers: bearer(ADMIN) }), 401, "UNAUTHORIZED");
    expect((await t.app.request("/metrics", { headers: bearer(METRICS) })).status).toBe(200);
    await expectError(await t.app.request(`/files/configs/${MAC}.json`), 401, "UNAUTHORIZED");
    expect((await t.app.request(`/files/configs/${MAC}.json`, { headers: bearer(DEVICE) })).status).toBe(200);
    expect((await t.app.request("/files/assets/fw.bin", { headers: bearer(DEVICE) })).status).toBe(200);
  });

  it("answers a browser's CORS preflight without credentials, and a refusal carries CORS headers", async () => {
    const preflight = await t.app.request(`/api/configs/${MAC}`, {
      method: "OPTIONS",
      headers: {
        Origin: "http://admin.example",
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "authorization, content-type",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const refused = await t.app.request("/api/configs", { headers: { Origin: "http://admin.example" } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe("http://admin.example");
  });

  it("declares the bearer scheme in the OpenAPI document, on admin operations only", async () => {
    const doc = (await (await t.app.request("/api/docs/openapi.json")).json()) as {
      components: { securitySchemes: Record<string, { type: string; scheme: string }> };
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.paths["/api/configs/{mac}"]?.put?.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths["/api/assets"]?.post?.security).toEqual([]);
    expect(doc.paths["/api/health"]?.get?.security).toEqual([]);
  });
});

describe("ALLOWED_HOSTS", () => {
  it("refuses a request for any other host name with 421 (DNS rebinding), whatever its port", async () => {
    const hosts = await createTestApp("memory", { ALLOWED_HOSTS: "iot.example.com, localhost, [::1]" });
    try {
      const as = (host: string) => hosts.app.request(`http://${host}/api/health`);
      for (const host of ["iot.example.com", "IOT.example.com:3201", "localhost:8080", "[::1]:3201"]) {
        expect((await as(host)).status, host).toBe(200);
      }
      for (const host of ["attacker.example", "127.0.0.1:3201", "iot.example.com.attacker.example"]) {
        const body = await expectError(await as(host), 421, "MISDIRECTED_REQUEST");
        expect(body.details).toEqual({ host: host.replace(/:\d+$/, "").toLowerCase() });
      }
    } finally {
      await hosts.cleanup();
    }
  });
});

describe("anonymous admin (no API_TOKEN_HASHES, no OIDC_ISSUER): the original's behaviour", () => {
  it("needs no token, and warns at boot only when it listens on a non-loopback address", async () => {
    const local = await createTestApp("memory");
    const lan = await createTestApp("memory", { HOST: "0.0.0.0" });
    try {
      const res = await local.app.request(`/api/configs/${MAC}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ content: {} }),
      });
      expect(res.status).toBe(200);
      const warned = (app: TestApp) =>
        app.logger.entries.some((e) => e.level === "warn" && e.msg.includes("API_TOKEN_HASHES"));
      expect(warned(local)).toBe(false);
      expect(warned(lan)).toBe(true);
    } finally {
      await local.cleanup();
      await lan.cleanup();
    }
  });
});
