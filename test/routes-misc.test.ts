/** Health, docs, metrics, CORS, unknown routes. */
import { rm } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./support/app.js";
import { expectError } from "./support/http.js";

describe("health, docs, metrics and the edges of the API", () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp("fs");
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it("reports healthy with storage and sink information", async () => {
    const res = await t.app.request("/api/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: "healthy",
      storage: { driver: "filesystem", ok: true },
      notifications: { sink: "recording", ready: true, queue_depth: 0, pending: 0 },
      version: "test",
      uptime_seconds: expect.any(Number),
    });
  });

  it("reports unhealthy (503) when a data directory disappears, naming the problem but not the path, and does not re-create it", async () => {
    await rm(t.settings.assetsDir, { recursive: true });
    const res = await t.app.request("/api/health");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; reason: string };
    expect(body.status).toBe("unhealthy");
    expect(body.reason).toBe("assets directory is missing");
    expect(JSON.stringify(body)).not.toContain(t.root as string);
    const again = await t.app.request("/api/health");
    expect(again.status).toBe(503);
  });

  it("reports unhealthy on memory storage that is switched off", async () => {
    const m = await createTestApp("memory");
    (m.storage as unknown as { setAvailable(v: boolean): void }).setAvailable(false);
    const res = await m.app.request("/api/health");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { reason: string }).reason).toBe("memory storage is switched off");
  });

  it("serves an OpenAPI 3.1 document generated from the route schemas", async () => {
    const res = await t.app.request("/api/docs/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/api/assets",
      "/api/configs",
      "/api/configs/{mac}",
      "/api/devices",
      "/api/devices/{mac}",
      "/api/devices/{mac}/token",
      "/api/docs",
      "/api/docs/init.js",
      "/api/docs/openapi.json",
      "/api/docs/swagger-ui/5.35.0/favicon-32x32.png",
      "/api/docs/swagger-ui/5.35.0/swagger-ui-bundle.js",
      "/api/docs/swagger-ui/5.35.0/swagger-ui.css",
      "/api/health",
      "/api/rollouts",
      "/api/rollouts/{id}",
      "/api/rollouts/{id}/abort",
      "/api/rollouts/{id}/pause",
      "/api/rollouts/{id}/resume",
      "/api/rollouts/{id}/rollback",
      "/files/assets/{name}",
      "/files/configs/{file}",
      "/files/status/{file}",
      "/metrics",
    ]);
    expect(Object.keys(doc.paths["/api/configs/{mac}"] ?? {})).toEqual(
      expect.arrayContaining(["get", "put", "delete"]),
    );
    // Shapes come from zod: the PUT body requires content, allow_overwrite optional with default true.
    const put = doc.components.schemas.PutConfigBody;
    expect(put?.required).toEqual(["content"]);
    expect(put?.properties?.allow_overwrite).toMatchObject({ type: "boolean", default: true });
    expect(Object.keys(doc.components.schemas.DeviceConfig?.properties ?? {}).sort()).toEqual([
      "content",
      "device_entity_id",
      "device_name",
      "enable_ota",
      "mac_address",
    ]);
    expect(doc.components.schemas.Error?.required?.sort()).toEqual([
      "code",
      "correlationId",
      "details",
      "error",
      "status",
    ]);
  });

  it("serves the interactive docs page", async () => {
    const res = await t.app.request("/api/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain("/api/docs/openapi.json");
  });

  it("exposes Prometheus text with the original metric names, labelled by route pattern", async () => {
    await t.app.request("/api/configs/aa-bb-cc-dd-ee-ff");
    const res = await t.app.request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    for (const name of [
      "iot_config_operations_total",
      "iot_config_operation_duration_seconds",
      "iot_config_files_count",
      "iot_asset_upload_requests_total",
      "iot_asset_upload_duration_seconds",
      "iot_asset_upload_file_size_bytes",
      "iot_asset_upload_signature_verification_duration_seconds",
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain('route="/api/configs/:mac"');
    expect(text).not.toContain("aa-bb-cc-dd-ee-ff");
  });

  it("answers unknown routes with 404 ROUTE_NOT_FOUND in the error shape", async () => {
    await expectError(await t.app.request("/api/nothing"), 404, "ROUTE_NOT_FOUND");
    await expectError(await t.app.request("/api/configs", { method: "DELETE" }), 404, "ROUTE_NOT_FOUND");
  });

  it("allows the configured CORS origin and no other", async () => {
    const preflight = (origin: string) =>
      t.app.request("/api/configs/aa-bb-cc-dd-ee-ff", {
        method: "OPTIONS",
        headers: {
          Origin: origin,
          "Access-Control-Request-Method": "PUT",
          "Access-Control-Request-Headers": "content-type",
        },
      });
    const ok = await preflight("http://localhost:3000");
    expect(ok.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    expect(ok.headers.get("access-control-allow-methods")).toContain("PUT");
    const other = await preflight("http://evil.example");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});
