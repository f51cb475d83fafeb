/**
 * What is stored and what is served (issue 8): config bodies that would expand past
 * MAX_CONFIG_BYTES, numbers a double cannot hold, hostile files placed in the data
 * directories by others (links out, FIFOs, oversized configs), and uploaded active
 * content served inertly. Each case was a finding against the server of 2026-11-28.
 */
import { execFileSync } from "node:child_process";
import { readdir, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, type StorageKind, signedUpload, type TestApp } from "./support/app.js";
import { expectError } from "./support/http.js";

const MAC = "aa-bb-cc-dd-ee-ff";
const putText = (t: TestApp, text: string, mac = MAC) =>
  t.app.request(`/api/configs/${mac}`, { method: "PUT", headers: { "Content-Type": "application/json" }, body: text });

/** `{"content":{"a":[[[…[ [],[],… ]…]]]}}`: about `bytes` long, `depth` levels deep, mostly empty arrays. */
function nestedArrays(bytes: number, depth: number): string {
  const inner = Array.from({ length: Math.floor(bytes / 3) }, () => "[]").join(",");
  return `{"content":{"a":${"[".repeat(depth)}${inner}${"]".repeat(depth)}}}`;
}

describe.each<StorageKind>(["fs", "memory"])("stored configs on %s storage", (kind) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp(kind);
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it("refuses with 413 a 1 MB body that two-space indentation would store as tens of MB; nothing stored", async () => {
    const body = nestedArrays(1_000_000, 60);
    expect(body.length).toBeLessThan(t.settings.maxConfigBytes);
    const error = await expectError(await putText(t, body), 413, "PAYLOAD_TOO_LARGE");
    expect(error.error).toContain("stored");
    expect(error.details).toEqual({ max_bytes: t.settings.maxConfigBytes });
    expect(await t.storage.list("configs")).toEqual([]);
    expect(t.sink.published).toEqual([]);
  });

  it("stores a body whose indented form is exactly at the limit, and refuses one element more", async () => {
    const content = { list: Array(20).fill(1) };
    const limit = JSON.stringify(content, null, 2).length;
    const small = await createTestApp(kind, { MAX_CONFIG_BYTES: String(limit) });
    try {
      expect((await putText(small, JSON.stringify({ content }))).status).toBe(200);
      const longer = { content: { list: Array(21).fill(1) } };
      // The body itself is well under the limit; only its stored form is over it.
      expect(JSON.stringify(longer).length).toBeLessThan(limit);
      await expectError(await putText(small, JSON.stringify(longer)), 413, "PAYLOAD_TOO_LARGE");
    } finally {
      await small.cleanup();
    }
  });

  it.each([
    ["1e400", '{"content":{"n":1e400}}'],
    ["-1e400", '{"content":{"n":-1e400}}'],
    ["1e-400 (non-zero read as 0)", '{"content":{"n":1e-400}}'],
    ["an integer past 2^53", '{"content":{"n":12345678901234567890}}'],
    ["2^53 + 1", '{"content":{"n":9007199254740993}}'],
    ["too many digits", '{"content":{"pi":3.14159265358979323846}}'],
    ["a nested one", '{"content":{"a":[1,2,{"b":[1e999]}]}}'],
  ])("refuses %s with 400 instead of storing an altered number", async (_label, text) => {
    const error = await expectError(await putText(t, text), 400, "VALIDATION_FAILED");
    expect(error.details.field).toBe("content");
    expect(error.error).toContain("cannot be stored exactly");
    expect(await t.storage.list("configs")).toEqual([]);
  });

  it("keeps every number a double holds, and numbers inside strings, exactly as sent", async () => {
    const text = '{"content":{"a":9007199254740992,"b":0.1,"c":-0.5e-3,"d":"1e400","e":1E2,"f":1.50}}';
    expect((await putText(t, text)).status).toBe(200);
    const config = (await (await t.app.request(`/api/configs/${MAC}`)).json()) as { content: Record<string, unknown> };
    expect(config.content).toEqual({ a: 9007199254740992, b: 0.1, c: -0.0005, d: "1e400", e: 100, f: 1.5 });
  });

  it("refuses a body that is not valid UTF-8", async () => {
    const bytes = Buffer.concat([Buffer.from('{"content":{"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]);
    const res = await t.app.request(`/api/configs/${MAC}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: bytes,
    });
    expect((await expectError(res, 400, "VALIDATION_FAILED")).error).toContain("UTF-8");
  });
});

describe("hostile files in the data directories (filesystem)", () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp("fs");
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it("serves no link that leaves the directory: the development private key stays private", async () => {
    const keyPath = join(t.root as string, "dev-signing-key.pem");
    await writeFile(keyPath, "-----BEGIN PRIVATE KEY-----\nMIIE-very-secret\n-----END PRIVATE KEY-----\n");
    await symlink("../dev-signing-key.pem", join(t.settings.assetsDir, "key.bin"));
    await symlink(keyPath, join(t.settings.configsDir, `${MAC}.json`));
    for (const path of ["/files/assets/key.bin", `/files/configs/${MAC}.json`]) {
      const res = await t.app.request(path);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain("very-secret");
    }
    await expectError(await t.app.request(`/api/configs/${MAC}`), 404, "RECORD_NOT_FOUND");
  });

  it("answers 404 at once for FIFOs and sockets, and keeps serving everything else", async () => {
    for (let i = 0; i < 8; i++) execFileSync("mkfifo", [join(t.settings.assetsDir, `fifo-${i}.bin`)]);
    execFileSync("mkfifo", [join(t.settings.configsDir, `${MAC}.json`)]);
    // More FIFO reads than libuv has file-system threads: one blocking open would stall the rest.
    const reads = await Promise.all(Array.from({ length: 8 }, (_, i) => t.app.request(`/files/assets/fifo-${i}.bin`)));
    expect(reads.map((r) => r.status)).toEqual(Array(8).fill(404));
    expect((await t.app.request(`/files/configs/${MAC}.json`)).status).toBe(404);
    expect((await t.app.request("/api/configs")).status).toBe(200);
    expect((await t.app.request("/api/health")).status).toBe(200);
    const upload = await t.app.request("/api/assets", {
      method: "POST",
      headers: { "Content-Type": signedUpload(t, "after.bin").contentType },
      body: signedUpload(t, "after.bin").body,
    });
    expect(upload.status).toBe(200);
  });

  it("skips, with a warning, a config file placed by others that is larger than MAX_CONFIG_BYTES", async () => {
    const small = await createTestApp("fs", { MAX_CONFIG_BYTES: "1024" });
    try {
      await writeFile(join(small.settings.configsDir, `${MAC}.json`), JSON.stringify({ blob: "x".repeat(5000) }));
      await writeFile(join(small.settings.configsDir, "11-22-33-44-55-66.json"), '{"deviceName":"ok"}');
      const list = (await (await small.app.request("/api/configs")).json()) as { count: number };
      expect(list.count).toBe(1);
      expect(
        small.logger.entries.some((e) => e.level === "warn" && String(e.reason).includes("MAX_CONFIG_BYTES")),
      ).toBe(true);
      // The device read still serves the bytes as stored: that path streams and never parses.
      expect((await small.app.request(`/files/configs/${MAC}.json`)).status).toBe(200);
    } finally {
      await small.cleanup();
    }
  });
});

describe("served assets are inert in a browser", () => {
  it.each([
    ["page.html", "<script>fetch('/api/configs/aa-bb-cc-dd-ee-ff',{method:'DELETE'})</script>"],
    ["image.svg", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'],
    ["data.bin", "<html><script>alert(1)</script>"],
  ])("serves %s with nosniff and a sandbox CSP", async (name, content) => {
    const t = await createTestApp("fs");
    try {
      const { body, contentType } = signedUpload(t, name, content);
      expect(
        (await t.app.request("/api/assets", { method: "POST", headers: { "Content-Type": contentType }, body })).status,
      ).toBe(200);
      for (const method of ["GET", "HEAD"]) {
        const res = await t.app.request(`/files/assets/${name}`, { method });
        expect(res.status).toBe(200);
        expect(res.headers.get("x-content-type-options")).toBe("nosniff");
        expect(res.headers.get("content-security-policy")).toBe("sandbox; default-src 'none'");
      }
      // API answers are never sniffed either.
      expect((await t.app.request("/api/health")).headers.get("x-content-type-options")).toBe("nosniff");
      expect((await stat(join(t.settings.assetsDir, name))).isFile()).toBe(true);
      expect(await readdir(t.settings.assetsDir)).toEqual([name]);
    } finally {
      await t.cleanup();
    }
  });
});
