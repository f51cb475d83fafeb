import { createHash } from "node:crypto";
/** POST /api/assets: the contract's upload row, its validation order and every error path, on both drivers. */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readAllBytes } from "../src/core/storage.js";
import { createTestApp, multipart, type StorageKind, signedUpload, type TestApp } from "./support/app.js";
import { chunked, expectError, metricValue } from "./support/http.js";
import { freshTimestamp } from "./support/upload-stream.js";

const post = (
  t: TestApp,
  { body, contentType }: { body: Uint8Array<ArrayBuffer>; contentType: string },
  headers = {},
) => t.app.request("/api/assets", { method: "POST", headers: { "Content-Type": contentType, ...headers }, body });

describe.each<StorageKind>(["fs", "memory"])("asset upload on %s storage", (kind) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp(kind);
  });
  afterEach(async () => {
    await t.cleanup();
  });

  /** Posts the parts, expects 400 VALIDATION_FAILED naming `field`, and checks that nothing was stored. */
  const rejected = async (parts: Parameters<typeof multipart>[0], field: string) => {
    const body = await expectError(await post(t, multipart(parts)), 400, "VALIDATION_FAILED");
    expect(body.details.field).toBe(field);
    expect(await t.storage.list("assets")).toEqual([]);
    return body;
  };

  const stored = async (name: string) => {
    const object = await t.storage.read("assets", name);
    return object ? new TextDecoder().decode(await readAllBytes(object.body)) : null;
  };

  it("stores a signed upload byte for byte, answers filename/size/uploaded_at, notifies once", async () => {
    const res = await post(t, signedUpload(t, "firmware-1.2.bin", "binary\r\n--not-a-boundary\r\n\u0000end"));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { filename: string; size: number; uploaded_at: string };
    expect(body.filename).toBe("firmware-1.2.bin");
    expect(body.size).toBe(new TextEncoder().encode("binary\r\n--not-a-boundary\r\n\u0000end").length);
    expect(body.uploaded_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$/);
    expect(await stored("firmware-1.2.bin")).toBe("binary\r\n--not-a-boundary\r\n\u0000end");
    const sha256 = createHash("sha256").update("binary\r\n--not-a-boundary\r\n\u0000end").digest("hex");
    expect(t.sink.published).toEqual([
      {
        topic: "iotsupport/updates/assets",
        payload: { filename: "firmware-1.2.bin" },
        metadata: { sha256, size: body.size, etag: `"${sha256}"` },
      },
    ]);
  });

  it("accepts the file part before the fields", async () => {
    const timestamp = freshTimestamp();
    const res = await post(
      t,
      multipart([
        { name: "file", value: "abc", filename: "first.bin" },
        { name: "signature", value: t.sign(timestamp) },
        { name: "timestamp", value: timestamp },
      ]),
    );
    expect(res.status).toBe(200);
    expect(await stored("first.bin")).toBe("abc");
  });

  it("converts an offset timestamp to UTC in uploaded_at and reads a bare one as UTC", async () => {
    const now = new Date();
    const plus2 = new Date(now.getTime() + 2 * 3600_000).toISOString().replace("Z", "+02:00").replace(/\.\d+/, "");
    const bare = now.toISOString().replace("Z", "").replace(/\.\d+/, "");
    for (const [timestamp, name] of [
      [plus2, "a.bin"],
      [bare, "b.bin"],
    ] as const) {
      const res = await post(
        t,
        multipart([
          { name: "timestamp", value: timestamp },
          { name: "signature", value: t.sign(timestamp) },
          { name: "file", value: "x", filename: name },
        ]),
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as { uploaded_at: string };
      expect(body.uploaded_at).toBe(`${now.toISOString().replace(/\.\d+Z$/, "")}+00:00`);
    }
  });

  const cases: Array<[string, () => ReturnType<typeof multipart>, string]> = [];
  it.each([
    ["file", ["timestamp", "signature"]],
    ["timestamp", ["file", "signature"]],
    ["signature", ["file", "timestamp"]],
  ])("names the missing field %s", async (missing, present) => {
    const timestamp = freshTimestamp();
    const parts = [
      { name: "timestamp", value: timestamp },
      { name: "signature", value: t.sign(timestamp) },
      { name: "file", value: "x", filename: "f.bin" },
    ].filter((p) => present.includes(p.name));
    const body = await expectError(await post(t, multipart(parts)), 400, "VALIDATION_FAILED");
    expect(body.error).toContain(missing);
    expect(body.details.field).toBe(missing);
    expect(await t.storage.list("assets")).toEqual([]);
    expect(t.sink.published).toEqual([]);
  });
  void cases;

  it("treats a plain field named file (no filename) as a missing file", async () => {
    const timestamp = freshTimestamp();
    const body = await expectError(
      await post(
        t,
        multipart([
          { name: "timestamp", value: timestamp },
          { name: "signature", value: t.sign(timestamp) },
          { name: "file", value: "x" },
        ]),
      ),
      400,
      "VALIDATION_FAILED",
    );
    expect(body.details.field).toBe("file");
  });

  it.each([
    ".",
    "..",
    "../x",
    "a/b",
    "a\\b",
    "x.tmp",
    "nul\u0000byte",
    "ctl\u0001",
    "del\u007f",
    "n".repeat(300),
    "",
    ".hidden",
  ])("rejects the filename %j with field filename, writing nothing", async (filename) => {
    const body = await expectError(await post(t, signedUpload(t, filename)), 400, "VALIDATION_FAILED");
    expect(body.details.field).toBe("filename");
    expect(await t.storage.list("assets")).toEqual([]);
    if (t.root) expect(await readdir(t.settings.assetsDir)).toEqual([]);
  });

  it("validates in order: fields present, then filename, then timestamp, then signature", async () => {
    const bad = (parts: Parameters<typeof multipart>[0]) => post(t, multipart(parts));
    const old = "2000-01-01T00:00:00Z";
    // missing signature beats a bad filename
    expect(
      (
        await expectError(
          await bad([
            { name: "file", value: "x", filename: "../x" },
            { name: "timestamp", value: old },
          ]),
          400,
          "VALIDATION_FAILED",
        )
      ).details.field,
    ).toBe("signature");
    // bad filename beats a bad timestamp
    expect(
      (
        await expectError(
          await bad([
            { name: "file", value: "x", filename: "../x" },
            { name: "timestamp", value: "garbage" },
            { name: "signature", value: "AAAA" },
          ]),
          400,
          "VALIDATION_FAILED",
        )
      ).details.field,
    ).toBe("filename");
    // bad timestamp beats a bad signature
    expect(
      (
        await expectError(
          await bad([
            { name: "file", value: "x", filename: "ok.bin" },
            { name: "timestamp", value: old },
            { name: "signature", value: "AAAA" },
          ]),
          400,
          "VALIDATION_FAILED",
        )
      ).details.field,
    ).toBe("timestamp");
  });

  it.each(["yesterday", "2026-13-01T00:00:00Z", "2000-01-01T00:00:00Z", "2999-01-01T00:00:00+00:00"])(
    "rejects the timestamp %s (unparseable or outside the tolerance)",
    async (timestamp) => {
      await rejected(
        [
          { name: "timestamp", value: timestamp },
          { name: "signature", value: t.sign(timestamp) },
          { name: "file", value: "x", filename: "f.bin" },
        ],
        "timestamp",
      );
    },
  );

  it("rejects a wrong, garbled or foreign signature, and counts each by error type", async () => {
    const timestamp = freshTimestamp();
    for (const signature of [t.sign("something else"), "%%%not base64%%%", t.sign(`${timestamp} `)]) {
      const body = await expectError(
        await post(
          t,
          multipart([
            { name: "file", value: "x", filename: "f.bin" },
            { name: "timestamp", value: timestamp },
            { name: "signature", value: signature },
          ]),
        ),
        400,
        "VALIDATION_FAILED",
      );
      expect(body.details.field).toBe("signature");
    }
    expect(await t.storage.list("assets")).toEqual([]);
    const text = await (await t.app.request("/metrics")).text();
    expect(metricValue(text, "iot_asset_upload_requests_total", { status: "error", error_type: "signature" })).toBe(3);
    expect(
      metricValue(text, "iot_asset_upload_signature_verification_duration_seconds_count", { result: "invalid" }),
    ).toBe(3);
  });

  it("refuses a non-multipart body and more than one file", async () => {
    await expectError(
      await t.app.request("/api/assets", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
      }),
      400,
      "VALIDATION_FAILED",
    );
    const timestamp = freshTimestamp();
    await rejected(
      [
        { name: "timestamp", value: timestamp },
        { name: "signature", value: t.sign(timestamp) },
        { name: "file", value: "1", filename: "one.bin" },
        { name: "file", value: "2", filename: "two.bin" },
      ],
      "file",
    );
  });

  it("answers 413 over MAX_UPLOAD_BYTES with Content-Length, chunked, or both, writing nothing", async () => {
    const small = await createTestApp(kind, { MAX_UPLOAD_BYTES: "4096" });
    try {
      const upload = signedUpload(small, "big.bin", new Uint8Array(10_000).fill(1));
      await expectError(
        await post(small, upload, { "Content-Length": String(upload.body.length) }),
        413,
        "PAYLOAD_TOO_LARGE",
      );
      for (const headers of [{}, { "Transfer-Encoding": "chunked", "Content-Length": "100" }]) {
        // A fresh signature each time: a version 1 signature stays used even when its upload is refused.
        const upload = signedUpload(small, "big.bin", new Uint8Array(10_000).fill(1));
        const res = await small.app.request("/api/assets", {
          method: "POST",
          headers: { "Content-Type": upload.contentType, ...headers },
          body: chunked(upload.body, 1000),
          duplex: "half",
        } as RequestInit);
        await expectError(res, 413, "PAYLOAD_TOO_LARGE");
      }
      expect(await small.storage.list("assets")).toEqual([]);
      if (small.root) expect(await readdir(small.settings.assetsDir)).toEqual([]);
      expect(small.sink.published).toEqual([]);
      const text = await (await small.app.request("/metrics")).text();
      expect(metricValue(text, "iot_asset_upload_requests_total", { status: "error", error_type: "validation" })).toBe(
        3,
      );
    } finally {
      await small.cleanup();
    }
  });

  it("discards a file spooled before a rejected field, leaving nothing behind", async () => {
    const res = await post(
      t,
      multipart([
        { name: "file", value: new Uint8Array(200_000).fill(9), filename: "spooled.bin" },
        { name: "timestamp", value: freshTimestamp() },
        { name: "signature", value: "AAAA" },
      ]),
    );
    await expectError(res, 400, "VALIDATION_FAILED");
    expect(await t.storage.list("assets")).toEqual([]);
    if (t.root) expect(await readdir(t.settings.assetsDir)).toEqual([]);
  });

  it("answers 400 and keeps nothing when the client's body stream breaks mid-upload", async () => {
    const upload = signedUpload(t, "broken.bin", new Uint8Array(100_000).fill(3));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 50_000) {
          controller.error(new Error("socket hang up"));
          return;
        }
        controller.enqueue(upload.body.subarray(sent, sent + 10_000));
        sent += 10_000;
      },
    });
    const res = await t.app.request("/api/assets", {
      method: "POST",
      headers: { "Content-Type": upload.contentType },
      body,
      duplex: "half",
    } as RequestInit);
    expect((await expectError(res, 400, "VALIDATION_FAILED")).details.field).toBe("body");
    expect(await t.storage.list("assets")).toEqual([]);
    if (t.root) expect(await readdir(t.settings.assetsDir)).toEqual([]);
  });

  it("replaces an existing asset atomically and records success metrics", async () => {
    await post(t, signedUpload(t, "fw.bin", "old"));
    expect((await post(t, signedUpload(t, "fw.bin", "newer"))).status).toBe(200);
    expect(await stored("fw.bin")).toBe("newer");
    const text = await (await t.app.request("/metrics")).text();
    expect(metricValue(text, "iot_asset_upload_requests_total", { status: "success", error_type: "none" })).toBe(2);
    expect(metricValue(text, "iot_asset_upload_file_size_bytes_count")).toBe(2);
    expect(metricValue(text, "iot_asset_upload_file_size_bytes_sum")).toBe(8);
    expect(text).not.toContain("fw.bin");
  });
});

describe("asset upload on the filesystem", () => {
  it("writes under the asset's own name in ASSETS_DIR, nothing else", async () => {
    const t = await createTestApp("fs");
    try {
      await post(t, signedUpload(t, "ota image v2.bin", "payload"));
      expect(await readdir(t.settings.assetsDir)).toEqual(["ota image v2.bin"]);
      expect(await readFile(join(t.settings.assetsDir, "ota image v2.bin"), "utf8")).toBe("payload");
      expect(await readdir(t.settings.configsDir)).toEqual([]);
    } finally {
      await t.cleanup();
    }
  });
});
