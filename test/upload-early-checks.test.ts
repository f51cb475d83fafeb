/**
 * What an upload's fields decide, and when (issue 16's re-probe): the timestamp is judged
 * when it arrives, so a slow upload signed in time is not refused at its end; a signature
 * no key could have made, or a timestamp out of range, is refused before the file is
 * staged when both fields came first; a config PUT whose client goes away mid-body is the client's failure (400), not
 * a server fault. In process, on the filesystem driver, with bodies the test holds open.
 */
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, multipart, type TestApp } from "./support/app.js";
import { heldBody, tricklingBody } from "./support/held-body.js";
import { expectError, metricValue } from "./support/http.js";
import { freshTimestamp } from "./support/upload-stream.js";

type Parts = Parameters<typeof multipart>[0];
const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

const postStream = (t: TestApp, stream: ReadableStream<Uint8Array>, contentType: string) =>
  t.app.request("/api/assets", {
    method: "POST",
    headers: { "Content-Type": contentType },
    body: stream,
    duplex: "half",
  } as RequestInit);

/** The body split after the file part's first bytes: what comes before is sent, the rest held until the test says. */
function heldInFile(parts: Parts) {
  const { body, contentType } = multipart(parts);
  const at = Buffer.from(body).indexOf("HOLD-HERE");
  return { ...heldBody(body.subarray(0, at), body.subarray(at)), contentType };
}

let t: TestApp;
afterEach(async () => {
  await t?.cleanup();
});

describe("the timestamp is judged when it arrives", () => {
  beforeEach(async () => {
    t = await createTestApp("fs", { TIMESTAMP_TOLERANCE_SECONDS: "1" });
  });

  for (const version of [1, 2] as const) {
    it(`version ${version}: an upload still moving past the tolerance, signed in time, is stored`, async () => {
      const content = new Uint8Array(24 * 1024).map((_, i) => i % 251);
      const timestamp = freshTimestamp();
      const signed = version === 1 ? timestamp : `${timestamp}\nslow-${version}.bin\n${sha256(content)}`;
      const { body, contentType } = multipart([
        ...(version === 2 ? [{ name: "signature_version", value: "2" }] : []),
        { name: "timestamp", value: timestamp },
        { name: "signature", value: t.sign(signed) },
        { name: "file", value: content, filename: `slow-${version}.bin` },
      ]);
      // 24 pieces 100 ms apart: about 2.4 s in all, more than twice the tolerance, and well above the minimum rate.
      const res = await postStream(t, tricklingBody(body, 24, 100), contentType);
      expect(res.status).toBe(200);
      expect(await readdir(t.settings.assetsDir)).toEqual([`slow-${version}.bin`]);
    });
  }

  it("a timestamp that arrives after the file is judged at its own arrival, still refused when stale", async () => {
    const timestamp = new Date(Date.now() - 5000).toISOString();
    const { body, contentType } = multipart([
      { name: "file", value: "x", filename: "late.bin" },
      { name: "timestamp", value: timestamp },
      { name: "signature", value: t.sign(timestamp) },
    ]);
    const error = await expectError(
      await postStream(t, tricklingBody(body, 1, 0), contentType),
      400,
      "VALIDATION_FAILED",
    );
    expect(error.details.field).toBe("timestamp");
  });
});

describe("refused before the file is staged", () => {
  beforeEach(async () => {
    t = await createTestApp("fs");
  });

  const expectRefusedWhileHeld = async (parts: Parts, field: string, message: RegExp) => {
    const held = heldInFile(parts);
    const answer = postStream(t, held.stream, held.contentType);
    // The answer comes while the rest of the file is still held by the client: nothing was waited for.
    const error = await expectError(await answer, 400, "VALIDATION_FAILED");
    expect(error.details.field).toBe(field);
    expect(error.error).toMatch(message);
    expect(await readdir(t.settings.assetsDir)).toEqual([]);
    held.finish();
  };

  it("a version 2 signature of the wrong length for the key", async () => {
    const timestamp = freshTimestamp();
    await expectRefusedWhileHeld(
      [
        { name: "signature_version", value: "2" },
        { name: "timestamp", value: timestamp },
        { name: "signature", value: Buffer.alloc(10, 7).toString("base64") },
        { name: "file", value: "HOLD-HERE and the rest", filename: "fw.bin" },
      ],
      "signature",
      /10 bytes, but a signature by this server's key has 256 bytes/,
    );
  });

  it("with a field still to come, nothing is judged before the end: the contract's order decides the answer", async () => {
    const { body, contentType } = multipart([
      { name: "signature", value: "not base64 at all!" },
      { name: "file", value: "x", filename: "fw.bin" },
    ]);
    // The signature is bad, but a missing timestamp comes first in the contract's order.
    const error = await expectError(
      await postStream(t, tricklingBody(body, 1, 0), contentType),
      400,
      "VALIDATION_FAILED",
    );
    expect(error.details.field).toBe("timestamp");
    expect(await readdir(t.settings.assetsDir)).toEqual([]);
  });
});

describe("a config PUT whose client goes away mid-body", () => {
  beforeEach(async () => {
    t = await createTestApp("fs");
  });

  it("is a 400 counted as the client's, not an INTERNAL_ERROR", async () => {
    const body = new TextEncoder().encode(JSON.stringify({ content: { deviceName: "gone" } }));
    const held = heldBody(body.subarray(0, 10), body.subarray(10));
    const answer = t.app.request("/api/configs/aa-bb-cc-dd-ee-ff", {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: held.stream,
      duplex: "half",
    } as RequestInit);
    await held.held;
    held.fail();
    const error = await expectError(await answer, 400, "VALIDATION_FAILED");
    expect(error.details.field).toBe("body");
    expect(t.logger.entries.filter((e) => e.level === "error")).toEqual([]);
    const text = await (await t.app.request("/metrics")).text();
    expect(
      metricValue(text, "iot_http_requests_total", { method: "PUT", route: "/api/configs/:mac", status: "400" }),
    ).toBe(1);
    expect((await t.app.request("/api/configs/aa-bb-cc-dd-ee-ff")).status).toBe(404);
  });
});
