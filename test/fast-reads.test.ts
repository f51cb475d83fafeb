/**
 * The fast path for cached config reads (core/fast-reads.ts), against the app it stands
 * in front of, on real filesystem storage: the same status, body and headers as the
 * route, the same metric series, and a fall-through to the app for everything it must
 * not answer. The runtimes' own use of it is covered by the contract suites, which run
 * every device read against real Node, Deno and Bun servers.
 */
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type FastAnswer, fastResponse } from "../src/features/device-reads/fast-reads.js";
import { createTestApp, type TestApp } from "./support/app.js";
import { metricValue } from "./support/http.js";

const MAC = "aa-bb-cc-dd-ee-ff";
/** A request from loopback, with no proxy header. */
const NO_CLIENT = { header: () => undefined, peer: () => "127.0.0.1" };
/** A client source sending `authorization` (the fast path asks for it only with a token mode on). */
const sending = (authorization: string | undefined) => ({
  header: (name: string) => (name === "authorization" ? authorization : undefined),
  peer: () => "127.0.0.1",
});
const peer = () => "127.0.0.1";
const PATH = `/files/configs/${MAC}.json`;
let t: TestApp | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

async function withSavedConfig(env: Record<string, string> = {}) {
  t = await createTestApp("fs", env);
  // The host ALLOWED_HOSTS names in the test that sets it.
  const put = await t.app.request(`http://iot.example/api/configs/${MAC}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ content: { deviceName: "kitchen", interval: 60 } }),
  });
  expect(put.status).toBe(200);
  return t;
}

/** Headers as a comparable record, without the per-request id. */
const comparable = (headers: Headers) =>
  Object.fromEntries([...headers].filter(([name]) => name !== "x-request-id").sort(([a], [b]) => a.localeCompare(b)));

const asResponse = (answer: FastAnswer) =>
  new Response(answer.body as Uint8Array<ArrayBuffer> | undefined, {
    status: answer.status,
    headers: { ...answer.headers, "X-Request-Id": answer.requestId },
  });

describe("fast path for cached config reads", () => {
  it("answers 200 and 304 exactly as the route does: status, body and every header", async () => {
    const { app, fastReads } = await withSavedConfig();
    expect(fastReads).toBeTypeOf("function");
    const fast = fastReads?.("GET", PATH, undefined, undefined, NO_CLIENT);
    expect(fast?.status).toBe(200);
    const viaApp = await app.request(PATH);
    const viaFast = asResponse(fast as FastAnswer);
    expect(comparable(viaFast.headers)).toEqual(comparable(viaApp.headers));
    expect(await viaFast.text()).toBe(await viaApp.text());

    const etag = viaApp.headers.get("etag") as string;
    const fast304 = fastReads?.("GET", PATH, `W/"other", ${etag}`, undefined, NO_CLIENT);
    expect(fast304?.status).toBe(304);
    expect(fast304?.body).toBeUndefined();
    const app304 = await app.request(PATH, { headers: { "If-None-Match": `W/"other", ${etag}` } });
    expect(app304.status).toBe(304);
    expect(comparable(asResponse(fast304 as FastAnswer).headers)).toEqual(comparable(app304.headers));
  });

  it.each([
    ["*", 304],
    ['"unbalanced, W/', 200],
    ["x".repeat(8000), 200],
    [",,,", 200],
  ])("answers a hostile If-None-Match %s as the route does (%i)", async (header, status) => {
    const { app, fastReads } = await withSavedConfig();
    expect(fastReads?.("GET", PATH, header, undefined, NO_CLIENT)?.status).toBe(status);
    expect((await app.request(PATH, { headers: { "If-None-Match": header } })).status).toBe(status);
  });

  it("serves the new version at once after a save through the API", async () => {
    const { app, fastReads } = await withSavedConfig();
    const before = fastReads?.("GET", PATH, undefined, undefined, NO_CLIENT)?.headers.ETag;
    await app.request(`/api/configs/${MAC}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ content: { deviceName: "kitchen", interval: 30 } }),
    });
    const after = fastReads?.("GET", PATH, undefined, undefined, NO_CLIENT);
    expect(after?.headers.ETag).not.toBe(before);
    expect(JSON.parse(new TextDecoder().decode(after?.body))).toEqual({ deviceName: "kitchen", interval: 30 });
  });

  it("keeps a safe X-Request-Id and replaces an unsafe one", async () => {
    const { fastReads } = await withSavedConfig();
    expect(fastReads?.("GET", PATH, undefined, "req-42", NO_CLIENT)?.requestId).toBe("req-42");
    const replaced = fastReads?.("GET", PATH, undefined, "bad id\r\nX: y", NO_CLIENT)?.requestId;
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("counts the request in the route's own metric series", async () => {
    const { fastReads, registry } = await withSavedConfig();
    const labels = { method: "GET", route: "/files/configs/:file", status: "200" };
    const before = metricValue(await registry.metrics(), "iot_http_requests_total", labels);
    fastReads?.("GET", PATH, undefined, undefined, NO_CLIENT);
    fastReads?.("GET", `${PATH}?x=1`, undefined, undefined, NO_CLIENT);
    expect(metricValue(await registry.metrics(), "iot_http_requests_total", labels)).toBe(before + 2);
  });

  it("leaves to the app what it must not answer", async () => {
    const { fastReads, root } = await withSavedConfig();
    const tries: Array<[string, string]> = [
      ["HEAD", PATH],
      ["POST", PATH],
      ["GET", `/files/configs/${MAC.replace("-", "%2D")}.json`],
      ["GET", "/files/configs/not-a-mac.json"],
      ["GET", `/files/configs/${MAC}.json/`],
      ["GET", `/files//configs/${MAC}.json`],
      ["GET", `/files/assets/${MAC}.json`],
      // Never read, so not held: the app reads it from disk.
      ["GET", "/files/configs/11-22-33-44-55-66.json"],
    ];
    await writeFile(join(root as string, "configs", "11-22-33-44-55-66.json"), "{}");
    for (const [method, target] of tries) {
      expect(fastReads?.(method, target, undefined, undefined, NO_CLIENT), `${method} ${target}`).toBeUndefined();
    }
    // Upper-case MACs name the same file, as in the route.
    expect(
      fastReads?.(
        "GET",
        PATH.toUpperCase().replace("/FILES/CONFIGS/", "/files/configs/"),
        undefined,
        undefined,
        NO_CLIENT,
      )?.status,
    ).toBe(200);
  });

  it.each([["allowed hosts", { ALLOWED_HOSTS: "iot.example" }]])(
    "is off when %s are configured: the app's checks stay in one place",
    async (_what, env) => {
      const { fastReads } = await withSavedConfig({ ...env, ALLOW_ANONYMOUS_ADMIN: "true" });
      expect(fastReads).toBeUndefined();
    },
  );

  it("in DEVICE_AUTH=device, answers a device's own token exactly as the route does, and leaves every other to the app", async () => {
    const { app, fastReads } = await withSavedConfig({ DEVICE_AUTH: "device", ALLOW_ANONYMOUS_ADMIN: "true" });
    const issue = async (mac: string) =>
      ((await (await app.request(`/api/devices/${mac}/token`, { method: "POST" })).json()) as { token: string }).token;
    const own = await issue(MAC);
    const other = await issue("11-22-33-44-55-66");
    // The app's first answer refreshes the token table; from then on the fast path knows it.
    const viaApp = await app.request(PATH, { headers: { Authorization: `Bearer ${own}` } });
    expect(viaApp.status).toBe(200);
    const fast = fastReads?.("GET", PATH, undefined, undefined, sending(`Bearer ${own}`));
    expect(fast?.status).toBe(200);
    const again = await app.request(PATH, { headers: { Authorization: `Bearer ${own}` } });
    expect(comparable(asResponse(fast as FastAnswer).headers)).toEqual(comparable(again.headers));
    expect(await asResponse(fast as FastAnswer).text()).toBe(await again.text());
    for (const authorization of [undefined, `Bearer ${other}`, "Bearer iotd_unknown", "Basic eDp5"]) {
      expect(fastReads?.("GET", PATH, undefined, undefined, sending(authorization)), authorization).toBeUndefined();
    }
    // A token in the query is the app's to refuse.
    expect(fastReads?.("GET", `${PATH}?access_token=${own}`, undefined, undefined, sending(`Bearer ${own}`))).toBe(
      undefined,
    );
  });

  it("in DEVICE_AUTH=fleet, answers a fleet token the app has accepted, and leaves the rest to the app", async () => {
    const token = "fleet-token-0123456789";
    const hash = createHash("sha256").update(token).digest("hex");
    const { app, fastReads } = await withSavedConfig({ DEVICE_TOKEN_HASHES: hash, ALLOW_ANONYMOUS_ADMIN: "true" });
    expect(fastReads?.("GET", PATH, undefined, undefined, sending(`Bearer ${token}`))).toBeUndefined();
    expect((await app.request(PATH, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(fastReads?.("GET", PATH, undefined, undefined, sending(`Bearer ${token}`))?.status).toBe(200);
    expect(fastReads?.("GET", PATH, undefined, undefined, NO_CLIENT)).toBeUndefined();
  });

  it("is off over storage that cannot say what is current without I/O (memory driver has no peek)", async () => {
    t = await createTestApp("memory");
    expect(t.fastReads).toBeUndefined();
    expect(fastResponse(t.fastReads, new Request(`http://x${PATH}`), peer)).toBeUndefined();
  });

  it("as a Web Response (Deno, Bun): the target is taken from the URL, the id added", async () => {
    const { fastReads } = await withSavedConfig();
    const res = fastResponse(
      fastReads,
      new Request(`http://127.0.0.1:8080${PATH}?v=2`, { headers: { "X-Request-Id": "abc" } }),
      peer,
    );
    expect(res?.status).toBe(200);
    expect(res?.headers.get("x-request-id")).toBe("abc");
    expect(res?.headers.get("content-type")).toBe("application/json");
    expect(fastResponse(fastReads, new Request(`http://127.0.0.1:8080/api/configs/${MAC}`), peer)).toBeUndefined();
  });
});
