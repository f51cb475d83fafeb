import { createHash } from "node:crypto";
/** The /api/configs rows of the contract's HTTP table, run against both storage drivers. */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, type StorageKind, type TestApp } from "./support/app.js";
import { chunked, expectError, json, metricValue } from "./support/http.js";

const MAC = "aa-bb-cc-dd-ee-ff";
const content = { deviceName: "Kitchen", deviceEntityId: "sensor.kitchen", enableOTA: true, extra: [1, 2] };

describe.each<StorageKind>(["fs", "memory"])("configs API on %s storage", (kind) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp(kind);
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const put = (mac: string, body: unknown, headers?: Record<string, string>) =>
    t.app.request(`/api/configs/${mac}`, json(body, headers));

  it("lists nothing at first", async () => {
    const res = await t.app.request("/api/configs");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ configs: [], count: 0 });
  });

  it("creates a config, normalising the MAC to lower case, and notifies once", async () => {
    const res = await put(MAC.toUpperCase(), { content });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      mac_address: MAC,
      device_name: "Kitchen",
      device_entity_id: "sensor.kitchen",
      enable_ota: true,
      content,
    });
    // The metadata describes exactly the stored bytes, as a device read will serve them.
    const stored = JSON.stringify(content, null, 2);
    const sha256 = createHash("sha256").update(stored).digest("hex");
    expect(t.sink.published).toEqual([
      {
        topic: "iotsupport/updates/configs",
        payload: { filename: `${MAC}.json` },
        metadata: { sha256, size: Buffer.byteLength(stored), etag: `"${sha256}"` },
      },
    ]);
    expect((await t.app.request(`/files/configs/${MAC}.json`)).headers.get("etag")).toBe(`"${sha256}"`);
  });

  it("reads a config back in any letter case", async () => {
    await put(MAC, { content });
    const res = await t.app.request(`/api/configs/${MAC.toUpperCase()}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { content: unknown }).content).toEqual(content);
  });

  it("updates an existing config when allow_overwrite is true or absent", async () => {
    await put(MAC, { content });
    expect((await put(MAC, { content: { deviceName: "B" }, allow_overwrite: true })).status).toBe(200);
    expect((await put(MAC, { content: { deviceName: "C" } })).status).toBe(200);
    const res = await t.app.request(`/api/configs/${MAC}`);
    expect(((await res.json()) as { device_name: string }).device_name).toBe("C");
    expect(t.sink.published).toHaveLength(3);
  });

  it("refuses to overwrite with allow_overwrite false: 409 naming the MAC, content unchanged, no notification", async () => {
    await put(MAC, { content });
    const body = await expectError(
      await put(MAC, { content: { deviceName: "X" }, allow_overwrite: false }),
      409,
      "RECORD_EXISTS",
    );
    expect(body.error).toContain(MAC);
    const res = await t.app.request(`/api/configs/${MAC}`);
    expect(((await res.json()) as { content: unknown }).content).toEqual(content);
    expect(t.sink.published).toHaveLength(1);
  });

  it("creates with allow_overwrite false when absent", async () => {
    expect((await put(MAC, { content, allow_overwrite: false })).status).toBe(200);
  });

  it("gives null summary fields when absent or of the wrong type", async () => {
    await put(MAC, { content: { deviceName: 5, enableOTA: "yes" } });
    const res = await t.app.request("/api/configs");
    expect(await res.json()).toEqual({
      configs: [{ mac_address: MAC, device_name: null, device_entity_id: null, enable_ota: null }],
      count: 1,
    });
  });

  it("lists summaries sorted by MAC", async () => {
    for (const mac of ["ff-00-00-00-00-01", "00-00-00-00-00-02", "aa-00-00-00-00-03"]) await put(mac, { content: {} });
    const res = await t.app.request("/api/configs");
    const body = (await res.json()) as { configs: Array<{ mac_address: string }>; count: number };
    expect(body.count).toBe(3);
    expect(body.configs.map((c) => c.mac_address)).toEqual([
      "00-00-00-00-00-02",
      "aa-00-00-00-00-03",
      "ff-00-00-00-00-01",
    ]);
    expect(body.configs[0]).not.toHaveProperty("content");
  });

  it.each(["aa:bb:cc:dd:ee:ff", "aabbccddeeff", "aa-bb-cc-dd-ee", "gg-bb-cc-dd-ee-ff", "aa-bb-cc-dd-ee-ff-00"])(
    "rejects the MAC %s with 400 INVALID_OPERATION on every method",
    async (mac) => {
      await expectError(await t.app.request(`/api/configs/${mac}`), 400, "INVALID_OPERATION");
      await expectError(await put(mac, { content }), 400, "INVALID_OPERATION");
      await expectError(await t.app.request(`/api/configs/${mac}`, { method: "DELETE" }), 400, "INVALID_OPERATION");
      expect(t.sink.published).toEqual([]);
    },
  );

  it("reports a bad MAC before a bad body", async () => {
    await expectError(
      await t.app.request("/api/configs/nope", {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: "{",
      }),
      400,
      "INVALID_OPERATION",
    );
  });

  it("answers 404 RECORD_NOT_FOUND with status in the body for an unknown MAC", async () => {
    const body = await expectError(await t.app.request(`/api/configs/${MAC}`), 404, "RECORD_NOT_FOUND");
    expect(body.status).toBe(404);
  });

  it.each([
    ["content missing", {}],
    ["content an array", { content: [1] }],
    ["content a string", { content: "x" }],
    ["content null", { content: null }],
    ["allow_overwrite not a boolean", { content: {}, allow_overwrite: "no" }],
    ["body an array", [1]],
  ])("rejects a body with %s: 400 VALIDATION_FAILED, nothing stored", async (_label, body) => {
    await expectError(await put(MAC, body), 400, "VALIDATION_FAILED");
    expect(await t.storage.list("configs")).toEqual([]);
    expect(t.sink.published).toEqual([]);
  });

  it("rejects malformed JSON and a non-JSON content type with VALIDATION_FAILED", async () => {
    const init = { method: "PUT", headers: { "Content-Type": "application/json" }, body: '{"content": {' };
    await expectError(await t.app.request(`/api/configs/${MAC}`, init), 400, "VALIDATION_FAILED");
    const text = { method: "PUT", headers: { "Content-Type": "text/plain" }, body: JSON.stringify({ content }) };
    const body = await expectError(await t.app.request(`/api/configs/${MAC}`, text), 400, "VALIDATION_FAILED");
    expect(body.error).toContain("application/json");
    expect(await t.storage.list("configs")).toEqual([]);
  });

  it("answers 413 for a body over MAX_CONFIG_BYTES, with Content-Length or chunked, storing nothing", async () => {
    const small = await createTestApp(kind, { MAX_CONFIG_BYTES: "1000" });
    try {
      const big = new TextEncoder().encode(JSON.stringify({ content: { blob: "x".repeat(5000) } }));
      const declared = await small.app.request(`/api/configs/${MAC}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json", "Content-Length": String(big.length) },
        body: big,
      });
      await expectError(declared, 413, "PAYLOAD_TOO_LARGE");
      const streamed = await small.app.request(`/api/configs/${MAC}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: chunked(big, 100),
        duplex: "half",
      } as RequestInit);
      await expectError(streamed, 413, "PAYLOAD_TOO_LARGE");
      expect(await small.storage.list("configs")).toEqual([]);
      expect(small.sink.published).toEqual([]);
    } finally {
      await small.cleanup();
    }
  });

  it("deletes with 204 and an empty body, then 404; never notifies for a delete", async () => {
    await put(MAC, { content });
    const res = await t.app.request(`/api/configs/${MAC.toUpperCase()}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    await expectError(await t.app.request(`/api/configs/${MAC}`, { method: "DELETE" }), 404, "RECORD_NOT_FOUND");
    expect(t.sink.published).toHaveLength(1);
  });

  it("echoes X-Request-Id as correlationId, or generates one", async () => {
    const res = await t.app.request(`/api/configs/${MAC}`, { headers: { "X-Request-Id": "trace-123" } });
    expect(res.headers.get("x-request-id")).toBe("trace-123");
    expect(((await res.json()) as { correlationId: string }).correlationId).toBe("trace-123");
    const generated = await t.app.request(`/api/configs/${MAC}`);
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("lets exactly one of 20 concurrent allow_overwrite:false creates win", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => put(MAC, { content: { writer: i }, allow_overwrite: false })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const winner = (await results[statuses.indexOf(200)]!.json()) as { content: unknown };
    const stored = await t.app.request(`/api/configs/${MAC}`);
    expect(((await stored.json()) as { content: unknown }).content).toEqual(winner.content);
    expect(t.sink.published).toHaveLength(1);
  });

  it("counts operations and files in the original metric names", async () => {
    await put(MAC, { content });
    await put("00-00-00-00-00-01", { content });
    await put(MAC, { content });
    await t.app.request(`/api/configs/${MAC}`, { method: "DELETE" });
    await t.app.request("/api/configs/00-00-00-00-00-09");
    const text = await (await t.app.request("/metrics")).text();
    expect(metricValue(text, "iot_config_operations_total", { operation: "save", status: "success" })).toBe(3);
    expect(metricValue(text, "iot_config_operations_total", { operation: "delete", status: "success" })).toBe(1);
    expect(metricValue(text, "iot_config_operations_total", { operation: "get", status: "error" })).toBe(1);
    expect(metricValue(text, "iot_config_files_count")).toBe(1);
    expect(metricValue(text, "iot_config_operation_duration_seconds_count", { operation: "save" })).toBe(3);
    expect(text).not.toContain(MAC);
  });
});

describe("configs API on the filesystem", () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp("fs");
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it("stores <mac>.json indented by two spaces", async () => {
    await t.app.request(`/api/configs/${MAC}`, json({ content: { a: { b: 1 } } }));
    expect(await readFile(join(t.settings.configsDir, `${MAC}.json`), "utf8")).toBe('{\n  "a": {\n    "b": 1\n  }\n}');
  });

  it("lists past bad files: wrong names, invalid JSON, non-objects — with a warning each", async () => {
    const dir = t.settings.configsDir;
    await writeFile(join(dir, "00-00-00-00-00-01.json"), '{"deviceName":"ok"}');
    await writeFile(join(dir, "00-00-00-00-00-02.json"), "{not json");
    await writeFile(join(dir, "00-00-00-00-00-03.json"), "[1,2]");
    await writeFile(join(dir, "00-00-00-00-00-04.json"), Buffer.from([0xff, 0xfe]));
    await writeFile(join(dir, "readme.txt"), "hello");
    await writeFile(join(dir, "AA-BB-CC-DD-EE-FF.json"), "{}");
    const res = await t.app.request("/api/configs");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      configs: [{ mac_address: "00-00-00-00-00-01", device_name: "ok", device_entity_id: null, enable_ota: null }],
      count: 1,
    });
    expect(t.logger.entries.filter((e) => e.level === "warn")).toHaveLength(3);
  });

  it("leaves one complete body and no temporary file after 50 parallel PUTs with different bodies", async () => {
    const bodies = Array.from({ length: 50 }, (_, i) => ({ writer: i, pad: "y".repeat(200 * i) }));
    const results = await Promise.all(bodies.map((content) => t.app.request(`/api/configs/${MAC}`, json({ content }))));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const stored = JSON.parse(await readFile(join(t.settings.configsDir, `${MAC}.json`), "utf8"));
    expect(bodies).toContainEqual(stored);
    expect(await readdir(t.settings.configsDir)).toEqual([`${MAC}.json`]);
    expect(t.sink.published).toHaveLength(50);
  });

  it("answers 503 STORAGE_UNAVAILABLE when the configs directory vanished, without its path", async () => {
    const { rm } = await import("node:fs/promises");
    await rm(t.settings.configsDir, { recursive: true });
    const body = await expectError(
      await t.app.request(`/api/configs/${MAC}`, json({ content })),
      503,
      "STORAGE_UNAVAILABLE",
    );
    expect(JSON.stringify(body)).not.toContain(t.root as string);
    expect(t.sink.published).toEqual([]);
  });
});
