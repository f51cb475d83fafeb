/**
 * Who can put what on the devices: upload signatures that cannot be replayed or moved to
 * another file (version 2), refusals that come before the file is written, bounded and
 * idle-cut uploads, and the filename rules — each on the filesystem and memory drivers.
 * Every case here was a finding against the server of 2026-11-28 (issue 8).
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, multipart, type StorageKind, type TestApp } from "./support/app.js";
import { heldBody, tricklingBody } from "./support/held-body.js";
import { expectError, metricValue } from "./support/http.js";
import { freshTimestamp } from "./support/upload-stream.js";

type Parts = Parameters<typeof multipart>[0];
const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

const post = (t: TestApp, parts: Parts) => {
  const { body, contentType } = multipart(parts);
  return t.app.request("/api/assets", { method: "POST", headers: { "Content-Type": contentType }, body });
};

const postStream = (t: TestApp, stream: ReadableStream<Uint8Array>, contentType: string) =>
  t.app.request("/api/assets", {
    method: "POST",
    headers: { "Content-Type": contentType },
    body: stream,
    duplex: "half",
  } as RequestInit);

/** The parts of a version 1 upload (the original: the signature covers the timestamp). */
function v1(t: TestApp, filename: string, content: string | Uint8Array, timestamp = freshTimestamp()): Parts {
  return [
    { name: "timestamp", value: timestamp },
    { name: "signature", value: t.sign(timestamp) },
    { name: "file", value: content, filename },
  ];
}

/** The parts of a version 2 upload: timestamp, filename and the content's SHA-256 are signed. */
function v2(
  t: TestApp,
  filename: string,
  content: string | Uint8Array,
  signedName = filename,
  signedContent = content,
) {
  const timestamp = freshTimestamp();
  return [
    { name: "signature_version", value: "2" },
    { name: "timestamp", value: timestamp },
    { name: "signature", value: t.sign(`${timestamp}\n${signedName}\n${sha256(signedContent)}`) },
    { name: "file", value: content, filename },
  ] satisfies Parts;
}

/** Splits an upload's bytes in the middle of its file content: everything before is sent, the rest held. */
function splitInFile(parts: Parts, marker: string) {
  const { body, contentType } = multipart(parts);
  const at = Buffer.from(body).indexOf(marker) + marker.length / 2;
  return { head: body.subarray(0, at), tail: body.subarray(at), contentType };
}

describe.each<StorageKind>(["fs", "memory"])("upload signatures on %s storage", (kind) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp(kind);
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const stored = async () => (await t.storage.list("assets")).sort();

  it("accepts a captured signature once: a replay, even with another file under another name, is refused", async () => {
    const timestamp = freshTimestamp();
    expect((await post(t, v1(t, "fw-1.0.bin", "genuine", timestamp))).status).toBe(200);
    for (const [name, content] of [
      ["fw-1.0.bin", "genuine"],
      ["evil.bin", "malware"],
    ]) {
      const body = await expectError(
        await post(t, v1(t, name as string, content as string, timestamp)),
        400,
        "VALIDATION_FAILED",
      );
      expect(body.details.field).toBe("signature");
      expect(body.error).toContain("already used");
      expect(body.error).toContain("fresh timestamp");
    }
    expect(await stored()).toEqual(["fw-1.0.bin"]);
    // Announced to the devices once, for the genuine upload only.
    expect(t.sink.published.map(({ topic, payload }) => ({ topic, payload }))).toEqual([
      { topic: "iotsupport/updates/assets", payload: { filename: "fw-1.0.bin" } },
    ]);
    const metrics = await (await t.app.request("/metrics")).text();
    expect(metricValue(metrics, "iot_asset_upload_requests_total", { status: "error", error_type: "signature" })).toBe(
      2,
    );
  });

  it("treats every base64 spelling of one signature as the same signature", async () => {
    const timestamp = freshTimestamp();
    const standard = t.sign(timestamp);
    expect((await post(t, v1(t, "a.bin", "a", timestamp))).status).toBe(200);
    const urlSafe = standard.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const wrapped = standard.replace(/(.{64})/g, "$1\r\n");
    for (const signature of [urlSafe, wrapped]) {
      const parts: Parts = [
        { name: "timestamp", value: timestamp },
        { name: "signature", value: signature },
        { name: "file", value: "b", filename: "b.bin" },
      ];
      expect((await expectError(await post(t, parts), 400, "VALIDATION_FAILED")).error).toContain("already used");
    }
  });

  it("version 2: binds the signature to the filename and the bytes", async () => {
    const ok = await post(t, v2(t, "fw-2.0.bin", "firmware v2"));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ filename: "fw-2.0.bin", size: 11 });
    // Signed for one name or content, sent with another: refused, nothing stored.
    const otherName = await post(t, v2(t, "evil.bin", "firmware v2", "fw-2.1.bin"));
    const otherBytes = await post(t, v2(t, "fw-2.1.bin", "malware", "fw-2.1.bin", "firmware v2.1"));
    for (const res of [otherName, otherBytes]) {
      const body = await expectError(res, 400, "VALIDATION_FAILED");
      expect(body.details.field).toBe("signature");
      expect(body.error).toContain("filename and file content");
    }
    // A version 2 signature is not a version 1 signature.
    const parts = v2(t, "fw-2.2.bin", "x").filter((p) => p.name !== "signature_version");
    expect((await expectError(await post(t, parts), 400, "VALIDATION_FAILED")).details.field).toBe("signature");
    expect(await stored()).toEqual(["fw-2.0.bin"]);
  });

  it("version 2 works whatever the order of the parts, the file first included", async () => {
    const parts = v2(t, "order.bin", "bytes");
    const file = parts.pop() as Parts[number];
    expect((await post(t, [file, ...parts])).status).toBe(200);
    expect((await post(t, [parts[1] as Parts[number], file, parts[0] as Parts[number]])).status).toBe(400);
    expect(await stored()).toEqual(["order.bin"]);
  });

  it("refuses an unknown signature_version, naming the field signature", async () => {
    const parts: Parts = [{ name: "signature_version", value: "3" }, ...v1(t, "x.bin", "x")];
    const body = await expectError(await post(t, parts), 400, "VALIDATION_FAILED");
    expect(body.details.field).toBe("signature");
    expect(body.error).toContain("signature_version");
  });

  it("answers a bad version 1 signature sent before the file without reading (or writing) the file", async () => {
    const marker = "F".repeat(64);
    const timestamp = freshTimestamp();
    const { head, tail, contentType } = splitInFile(
      [
        { name: "timestamp", value: timestamp },
        { name: "signature", value: t.sign(`${timestamp} but not this`) },
        { name: "file", value: marker, filename: "early.bin" },
      ],
      marker,
    );
    const body = heldBody(head, tail);
    // The rest of the file is never sent: the answer must come anyway.
    const res = await postStream(t, body.stream, contentType);
    expect((await expectError(res, 400, "VALIDATION_FAILED")).details.field).toBe("signature");
    expect(await stored()).toEqual([]);
    if (t.root) expect(await readdir(t.settings.assetsDir)).toEqual([]);
    body.fail();
  });

  it("gives a version 2 signature back when its upload fails, so the same signed request can be retried", async () => {
    const marker = "R".repeat(64);
    const parts = v2(t, "retry.bin", marker);
    const { head, tail, contentType } = splitInFile(parts, marker);
    const broken = heldBody(head, tail);
    const pending = postStream(t, broken.stream, contentType);
    await broken.held;
    broken.fail();
    expect((await expectError(await pending, 400, "VALIDATION_FAILED")).details.field).toBe("body");
    expect((await post(t, parts)).status).toBe(200);
    expect(await stored()).toEqual(["retry.bin"]);
  });

  it("keeps a version 1 signature used when its upload fails: a captured one cannot carry another file", async () => {
    const marker = "R".repeat(64);
    const timestamp = freshTimestamp();
    const { head, tail, contentType } = splitInFile(v1(t, "meant.bin", marker, timestamp), marker);
    const broken = heldBody(head, tail);
    const pending = postStream(t, broken.stream, contentType);
    await broken.held;
    broken.fail();
    expect((await expectError(await pending, 400, "VALIDATION_FAILED")).details.field).toBe("body");
    // The same signature, replayed with another name and content, is refused: it was used.
    const replay = await expectError(await post(t, v1(t, "evil.bin", "other", timestamp)), 400, "VALIDATION_FAILED");
    expect(replay.details.field).toBe("signature");
    expect(replay.error).toContain("already used");
    expect(await stored()).toEqual([]);
  });
});

describe("upload signature policy settings", () => {
  it("UPLOAD_SIGNATURE_MIN_VERSION=2 refuses version 1 and accepts version 2", async () => {
    const t = await createTestApp("fs", { UPLOAD_SIGNATURE_MIN_VERSION: "2" });
    try {
      const body = await expectError(await post(t, v1(t, "old.bin", "x")), 400, "VALIDATION_FAILED");
      expect(body.details.field).toBe("signature");
      expect(body.error).toContain("requires version 2");
      expect((await post(t, v2(t, "new.bin", "x"))).status).toBe(200);
      expect(await t.storage.list("assets")).toEqual(["new.bin"]);
    } finally {
      await t.cleanup();
    }
  });

  it("UPLOAD_SIGNATURE_REUSE=allow restores the original's replayable behaviour, with a warning at boot", async () => {
    const t = await createTestApp("fs", { UPLOAD_SIGNATURE_REUSE: "allow" });
    try {
      const timestamp = freshTimestamp();
      expect((await post(t, v1(t, "one.bin", "1", timestamp))).status).toBe(200);
      expect((await post(t, v1(t, "two.bin", "2", timestamp))).status).toBe(200);
      expect(
        t.logger.entries.filter((e) => e.level === "warn" && e.msg.includes("UPLOAD_SIGNATURE_REUSE=allow")),
      ).toHaveLength(1);
    } finally {
      await t.cleanup();
    }
  });
});

describe("bounded uploads", () => {
  it("MAX_CONCURRENT_UPLOADS: one upload past the bound is 503 SERVER_BUSY with Retry-After, the others complete", async () => {
    // In process every request comes from one (unknown) address: its share is the whole bound here.
    const t = await createTestApp("fs", { MAX_CONCURRENT_UPLOADS: "2", MAX_UPLOADS_PER_CLIENT: "2" });
    try {
      const held = ["a", "b"].map((name) => {
        const marker = name.repeat(64);
        const { head, tail, contentType } = splitInFile(v1(t, `${name}.bin`, marker), marker);
        const body = heldBody(head, tail);
        return { body, response: postStream(t, body.stream, contentType) };
      });
      await Promise.all(held.map((h) => h.body.held));
      const busy = await post(t, v1(t, "c.bin", "c"));
      const error = await expectError(busy, 503, "SERVER_BUSY");
      expect(busy.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(error.details).toEqual({ max_concurrent_uploads: 2 });
      for (const h of held) h.body.finish();
      expect((await Promise.all(held.map((h) => h.response))).map((r) => r.status)).toEqual([200, 200]);
      // Room again once they are done.
      expect((await post(t, v1(t, "d.bin", "d"))).status).toBe(200);
      expect((await t.storage.list("assets")).sort()).toEqual(["a.bin", "b.bin", "d.bin"]);
    } finally {
      await t.cleanup();
    }
  });

  it("UPLOAD_IDLE_TIMEOUT_MS: an upload that stalls is cut with 408 and discarded", async () => {
    const t = await createTestApp("fs", { UPLOAD_IDLE_TIMEOUT_MS: "300" });
    try {
      const marker = "S".repeat(64);
      const { head, tail, contentType } = splitInFile(v1(t, "stalled.bin", marker), marker);
      const body = heldBody(head, tail);
      const error = await expectError(await postStream(t, body.stream, contentType), 408, "REQUEST_TIMEOUT");
      expect(error.details).toEqual({ idle_timeout_ms: 300 });
      expect(await readdir(t.settings.assetsDir)).toEqual([]);
      body.fail();
    } finally {
      await t.cleanup();
    }
  });

  it("has no total-time limit: a slow but moving upload, longer in all than the idle timeout, is stored", async () => {
    const t = await createTestApp("fs", { UPLOAD_IDLE_TIMEOUT_MS: "1000" });
    try {
      const content = new Uint8Array(40 * 1024).map((_, i) => i % 251);
      const { body, contentType } = multipart(v1(t, "slow.bin", content));
      // 40 pieces, 50 ms apart: about 2 s in all, never more than a fraction of the idle timeout between bytes.
      const res = await postStream(t, tricklingBody(body, 40, 50), contentType);
      expect(res.status).toBe(200);
      expect(new Uint8Array(await readFile(join(t.settings.assetsDir, "slow.bin")))).toEqual(content);
    } finally {
      await t.cleanup();
    }
  });
});

describe("filenames", () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp("fs");
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it.each([
    ["a right-to-left override (gpj.exe shown as exe.jpg)", "\u202egpj.exe"],
    ["a zero-width space", "fw\u200b.bin"],
    ["a no-break space", "fw\u00a0.bin"],
    ["a byte-order mark", "\ufefffw.bin"],
    ["the Windows device name CON", "CON"],
    ["a Windows device name with an extension", "nul.txt"],
    ["COM1", "com1.bin"],
    ["LPT9", "LPT9"],
    ["a trailing dot", "firmware."],
  ])("refuses %s with 400 on field filename, writing nothing", async (_label, filename) => {
    const body = await expectError(await post(t, v1(t, filename, "x")), 400, "VALIDATION_FAILED");
    expect(body.details.field).toBe("filename");
    expect(await readdir(t.settings.assetsDir)).toEqual([]);
  });

  it("refuses a filename that is not valid UTF-8", async () => {
    const timestamp = freshTimestamp();
    const boundary = "----invalid-utf8";
    const enc = new TextEncoder();
    const body = Buffer.concat([
      enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="timestamp"\r\n\r\n${timestamp}\r\n`),
      enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="signature"\r\n\r\n${t.sign(timestamp)}\r\n`),
      enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="fw`),
      Buffer.from([0xff, 0xfe]),
      enc.encode(`.bin"\r\n\r\nbytes\r\n--${boundary}--\r\n`),
    ]);
    const res = await t.app.request("/api/assets", {
      method: "POST",
      headers: { "Content-Type": `multipart/form-data; boundary=${boundary}` },
      body,
    });
    const error = await expectError(res, 400, "VALIDATION_FAILED");
    expect(error.details.field).toBe("filename");
    expect(error.error).toContain("UTF-8");
  });

  it("stores a name under its NFC form, whichever form was sent, and serves it by either", async () => {
    const nfd = "cafe\u0301.bin";
    const nfc = "caf\u00e9.bin";
    const res = await post(t, v2(t, nfd, "bytes"));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { filename: string }).filename).toBe(nfc);
    expect(await readdir(t.settings.assetsDir)).toEqual([nfc]);
    expect(t.sink.published.at(-1)?.payload).toEqual({ filename: nfc });
    for (const name of [nfd, nfc]) {
      const read = await t.app.request(`/files/assets/${encodeURIComponent(name)}`);
      expect(read.status).toBe(200);
      expect(await read.text()).toBe("bytes");
    }
  });
});
