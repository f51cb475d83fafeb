/**
 * The Web runtimes' fast path (webFastReads, used by Deno and Bun): one Response per config
 * version, cloned per request. Each answer must still be the route's, header for header,
 * with its own X-Request-Id; a template must never be used up by being sent; and a new
 * version must be answered at once after a save, with the old template gone. Real
 * filesystem storage, the real app in-process; the runtimes themselves are covered by the
 * contract suites (test/device-reads.test.ts).
 */
import { afterEach, describe, expect, it } from "vitest";
import { webFastReads } from "../src/features/device-reads/fast-reads.js";
import { createTestApp, type TestApp } from "./support/app.js";

const MAC = "aa-bb-cc-dd-ee-ff";
const PATH = `/files/configs/${MAC}.json`;
const peer = () => "127.0.0.1";
let t: TestApp | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

async function save(content: unknown) {
  const put = await t?.app.request(`/api/configs/${MAC}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ content }),
  });
  expect(put?.status).toBe(200);
}

/** Headers as a comparable record, without the per-request id. */
const comparable = (headers: Headers) =>
  Object.fromEntries([...headers].filter(([name]) => name !== "x-request-id").sort(([a], [b]) => a.localeCompare(b)));

const request = (headers: Record<string, string> = {}) => new Request(`http://127.0.0.1:8080${PATH}`, { headers });

describe("fast path as Web Responses (Deno, Bun)", () => {
  it("answers every read of one version in full, each with its own id, header for header as the route", async () => {
    t = await createTestApp("fs");
    await save({ deviceName: "kitchen", interval: 60 });
    const fast = webFastReads(t.fastReads);
    const viaApp = await t.app.request(PATH);
    const first = fast?.(request({ "X-Request-Id": "first" }), peer);
    const second = fast?.(request(), peer);
    expect(first?.headers.get("x-request-id")).toBe("first");
    expect(second?.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    // The second answer is cloned from the same template as the first, whose body was read.
    expect(await first?.text()).toBe(await viaApp.clone().text());
    expect(await second?.text()).toBe(await viaApp.text());
    expect(comparable(second?.headers as Headers)).toEqual(comparable(viaApp.headers));
    expect([...(first?.headers.keys() ?? [])].filter((name) => name === "x-request-id")).toHaveLength(1);

    const etag = viaApp.headers.get("etag") as string;
    const app304 = await t.app.request(PATH, { headers: { "If-None-Match": etag } });
    for (const id of ["a", "b"]) {
      const res = fast?.(request({ "If-None-Match": etag, "X-Request-Id": id }), peer);
      expect(res?.status).toBe(304);
      expect(res?.body).toBeNull();
      expect(res?.headers.get("x-request-id")).toBe(id);
      expect(comparable(res?.headers as Headers)).toEqual(comparable(app304.headers));
    }
  });

  it("answers the new version at once after a save, not the old version's template", async () => {
    t = await createTestApp("fs");
    await save({ deviceName: "kitchen", interval: 60 });
    const fast = webFastReads(t.fastReads);
    const before = fast?.(request(), peer);
    expect(await before?.json()).toEqual({ deviceName: "kitchen", interval: 60 });
    await save({ deviceName: "kitchen", interval: 30 });
    const after = fast?.(request(), peer);
    expect(after?.headers.get("etag")).not.toBe(before?.headers.get("etag"));
    expect(await after?.json()).toEqual({ deviceName: "kitchen", interval: 30 });
    expect(comparable(after?.headers as Headers)).toEqual(comparable((await t.app.request(PATH)).headers));
    // The old ETag no longer matches: a device holding it gets the new version in full.
    const stale = fast?.(request({ "If-None-Match": before?.headers.get("etag") as string }), peer);
    expect(stale?.status).toBe(200);
  });
});
