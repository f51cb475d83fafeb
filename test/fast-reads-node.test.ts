/**
 * Node's fast path writes each config version's headers as one list kept per version, with
 * the request's X-Request-Id filled in (runtimes/node-http.ts). Over a real socket, against
 * the real app on filesystem storage: every answer carries its own id once, the route's
 * headers, and the new version at once after a save (the old version's list is not reused).
 */
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createNodeServer } from "../src/runtimes/node-http.js";
import { createTestApp, type TestApp } from "./support/app.js";

const MAC = "aa-bb-cc-dd-ee-ff";
const PATH = `/files/configs/${MAC}.json`;
let t: TestApp | undefined;
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  await t?.cleanup();
  t = undefined;
  close = undefined;
});

async function serve(): Promise<string> {
  t = await createTestApp("fs");
  expect(t.fastReads).toBeTypeOf("function");
  const server = createNodeServer(
    t.app,
    { host: "127.0.0.1", maxUploadBytes: 1024 * 1024, maxConfigBytes: 64 * 1024 },
    { fastReads: t.fastReads },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  close = () => new Promise((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function save(base: string, content: unknown) {
  const put = await fetch(`${base}/api/configs/${MAC}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ content }),
  });
  expect(put.status).toBe(200);
}

/** What the connection adds, and the per-request id: left out of the comparison with the in-process app. */
const PER_CONNECTION = new Set(["x-request-id", "date", "connection", "keep-alive"]);

/** Headers as a comparable record. */
const comparable = (headers: Headers) =>
  Object.fromEntries([...headers].filter(([name]) => !PER_CONNECTION.has(name)).sort(([a], [b]) => a.localeCompare(b)));

describe("Node fast path: one header list per version", () => {
  it("gives every answer its own id and the route's headers, and a save's new version at once", async () => {
    const base = await serve();
    await save(base, { deviceName: "kitchen", interval: 60 });
    // The app's own answer, for comparison; the server answers from its fast path (the config is held).
    const viaApp = await t?.app.request(PATH);
    const first = await fetch(`${base}${PATH}`, { headers: { "X-Request-Id": "one" } });
    const second = await fetch(`${base}${PATH}`, { headers: { "X-Request-Id": "two" } });
    const third = await fetch(`${base}${PATH}`);
    expect(first.headers.get("x-request-id")).toBe("one");
    expect(second.headers.get("x-request-id")).toBe("two");
    expect(third.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(comparable(second.headers)).toEqual(comparable(viaApp?.headers as Headers));
    expect(await second.text()).toBe(await viaApp?.text());

    const etag = first.headers.get("etag") as string;
    const notModified = await fetch(`${base}${PATH}`, { headers: { "If-None-Match": etag, "X-Request-Id": "three" } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("x-request-id")).toBe("three");

    await save(base, { deviceName: "kitchen", interval: 30 });
    const after = await fetch(`${base}${PATH}`, { headers: { "If-None-Match": etag, "X-Request-Id": "four" } });
    expect(after.status).toBe(200);
    expect(after.headers.get("etag")).not.toBe(etag);
    expect(after.headers.get("x-request-id")).toBe("four");
    expect(await after.json()).toEqual({ deviceName: "kitchen", interval: 30 });
  });
});
