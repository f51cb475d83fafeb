/**
 * The OpenAPI document against the assembled app: every route the app answers (Hono's
 * `app.routes`, middleware left out) is an operation of the document and every operation is
 * a route; each operation lists its error responses in the API's error shape with their
 * codes; and what the app really answers — to a wrong Host, a missing token, a bad MAC, a
 * storage that is switched off, … — is documented for that operation, status and code.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ErrorCode, statusesOf } from "../src/core/errors.js";
import { createTestApp, signedUpload, type TestApp } from "./support/app.js";

interface Operation {
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { description: string; content?: Record<string, { schema: Schema }> }>;
}
interface Schema {
  $ref?: string;
  allOf?: Schema[];
  properties?: Record<string, { enum?: unknown[] }>;
}
type Document = { paths: Record<string, Record<string, Operation>> };

const TOKEN = "test-admin-token";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
/** Every scope's token list set, and a Host allowlist: each shared error can then be provoked. */
const ENV = {
  API_TOKEN_HASHES: sha256(TOKEN),
  METRICS_TOKEN_HASHES: sha256(TOKEN),
  DEVICE_TOKEN_HASHES: sha256(TOKEN),
  ALLOWED_HOSTS: "localhost",
};
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const MAC = "aa-bb-cc-dd-ee-ff";

/** Hono's `:param` as OpenAPI's `{param}`. */
const asTemplate = (path: string) => path.replace(/:([^/]+)/g, "{$1}");

/** The codes an error response allows: the Error shape with `code` narrowed (allOf: [$ref Error, {code: enum}]). */
function errorCodes(operation: Operation, status: number): string[] | undefined {
  const schema = operation.responses[String(status)]?.content?.["application/json"]?.schema;
  if (schema?.allOf?.[0]?.$ref !== "#/components/schemas/Error") return undefined;
  return schema.allOf[1]?.properties?.code?.enum as string[] | undefined;
}

describe("the OpenAPI document and the app's routes", () => {
  let t: TestApp;
  let doc: Document;
  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, operation })),
    );
  /** The documented operation a concrete request goes to. */
  const operationOf = (method: string, path: string): [string, Operation] => {
    for (const [template, methods] of Object.entries(doc.paths)) {
      const pattern = new RegExp(`^${template.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+")}$`);
      const operation = methods[method.toLowerCase()];
      if (pattern.test(path) && operation) return [template, operation];
    }
    throw new Error(`no documented operation for ${method} ${path}`);
  };
  /** Requests it, then checks that its status (and its code, for an error) is documented for that operation. */
  const answered = async (method: string, path: string, init: RequestInit = {}, host = "localhost") => {
    const res = await t.app.request(`http://${host}${path}`, { method, ...init });
    const [template, operation] = operationOf(method, path);
    const where = `${method} ${template} → ${res.status}`;
    expect(Object.keys(operation.responses), where).toContain(String(res.status));
    const codes = errorCodes(operation, res.status);
    if (res.status >= 400 && codes) {
      const body = (await res.json()) as { code: string; status: number };
      expect(codes, where).toContain(body.code);
      expect(body.status).toBe(res.status);
      return { status: res.status, code: body.code };
    }
    await res.body?.cancel();
    return { status: res.status, code: undefined };
  };

  beforeAll(async () => {
    t = await createTestApp("memory", ENV);
    doc = (await (await t.app.request("/api/docs/openapi.json")).json()) as Document;
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it("documents every route the app answers, and nothing it does not", () => {
    const routes = t.app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${asTemplate(r.path)}`);
    // Middleware is registered for ALL methods; a route for every method would be missed here, so there is none.
    expect(t.app.routes.filter((r) => r.method === "ALL").every((r) => r.handler.name !== "")).toBe(true);
    expect(new Set(routes).size).toBe(routes.length);
    expect(routes.sort()).toEqual(
      operations()
        .map((o) => o.key)
        .sort(),
    );
    expect(routes.length).toBeGreaterThanOrEqual(14);
  });

  it("lists each operation's error responses in the API's error shape, each code under its own status", () => {
    for (const { key, operation } of operations()) {
      const statuses = Object.keys(operation.responses).map(Number);
      expect(
        statuses.some((s) => s >= 200 && s < 300),
        key,
      ).toBe(true);
      // Every route can fail unexpectedly, and every route is behind ALLOWED_HOSTS.
      expect(errorCodes(operation, 500), key).toEqual(["INTERNAL_ERROR"]);
      expect(errorCodes(operation, 421), key).toEqual(["MISDIRECTED_REQUEST"]);
      for (const status of statuses.filter((s) => s >= 400)) {
        const codes = errorCodes(operation, status);
        // The two answers that are not in the error shape on purpose: health's own body, and 416's empty one.
        if (key === "GET /api/health" && status === 503) continue;
        if (key === "GET /files/assets/{name}" && status === 416) continue;
        expect(codes, `${key} ${status}`).toBeDefined();
        // Its own status, or one the code is also answered with (INVALID_OPERATION's 409 for a rollout's state).
        for (const code of codes ?? [])
          expect(statusesOf(code as ErrorCode), `${key} ${status} ${code}`).toContain(status);
        expect(operation.responses[String(status)]?.description, `${key} ${status}`).toMatch(/[A-Z_]+: /);
      }
    }
  });

  it("answers a Host outside ALLOWED_HOSTS on every route as documented (421)", async () => {
    for (const route of t.app.routes.filter((r) => r.method !== "ALL")) {
      const path = route.path.replace(":mac", MAC).replace(":file", `${MAC}.json`).replace(":name", "fw.bin");
      expect(await answered(route.method, path, { headers: AUTH }, "evil.example")).toEqual({
        status: 421,
        code: "MISDIRECTED_REQUEST",
      });
    }
  });

  it("asks for a token exactly where the document's security says so (401 documented there)", async () => {
    for (const route of t.app.routes.filter((r) => r.method !== "ALL")) {
      const path = route.path.replace(":mac", MAC).replace(":file", `${MAC}.json`).replace(":name", "fw.bin");
      const [template, operation] = operationOf(route.method, path);
      const needsToken = (operation.security ?? []).some((s) => "bearerAuth" in s);
      const { status } = await answered(route.method, path);
      expect(status === 401, `${route.method} ${template}: ${status}`).toBe(needsToken);
    }
  });

  it("documents the errors each route gives, status and code", async () => {
    const json = { ...AUTH, "Content-Type": "application/json" };
    const put = (body: string) => ({ headers: json, body });
    const cases: Array<[string, string, RequestInit, number, string | undefined]> = [
      ["GET", "/api/configs/not-a-mac", { headers: AUTH }, 400, "INVALID_OPERATION"],
      ["GET", `/api/configs/${MAC}`, { headers: AUTH }, 404, "RECORD_NOT_FOUND"],
      ["PUT", "/api/configs/not-a-mac", put("{}"), 400, "INVALID_OPERATION"],
      ["PUT", `/api/configs/${MAC}`, put("{not json"), 400, "VALIDATION_FAILED"],
      [
        "PUT",
        `/api/configs/${MAC}`,
        put(JSON.stringify({ content: { x: "y".repeat(2_000_000) } })),
        413,
        "PAYLOAD_TOO_LARGE",
      ],
      ["PUT", `/api/configs/${MAC}`, put(JSON.stringify({ content: { deviceName: "a" } })), 200, undefined],
      [
        "PUT",
        `/api/configs/${MAC}`,
        put(JSON.stringify({ content: {}, allow_overwrite: false })),
        409,
        "RECORD_EXISTS",
      ],
      ["DELETE", "/api/configs/not-a-mac", { headers: AUTH }, 400, "INVALID_OPERATION"],
      ["GET", "/files/configs/not-a-config.txt", { headers: AUTH }, 400, "INVALID_OPERATION"],
      ["GET", "/files/configs/11-22-33-44-55-66.json", { headers: AUTH }, 404, "RECORD_NOT_FOUND"],
      ["GET", `/files/configs/${MAC}.json`, { headers: AUTH }, 200, undefined],
      ["GET", "/files/assets/CON", { headers: AUTH }, 400, "VALIDATION_FAILED"],
      ["GET", "/files/assets/missing.bin", { headers: AUTH }, 404, "RECORD_NOT_FOUND"],
      ["POST", "/api/assets", { headers: { "Content-Type": "text/plain" }, body: "x" }, 400, "VALIDATION_FAILED"],
      [
        "POST",
        "/api/assets",
        { headers: { "Content-Type": "multipart/form-data; boundary=b", "Content-Length": "999999999" } },
        413,
        "PAYLOAD_TOO_LARGE",
      ],
      ["DELETE", `/api/configs/${MAC}`, { headers: AUTH }, 204, undefined],
    ];
    for (const [method, path, init, status, code] of cases) {
      expect(await answered(method, path, init), `${method} ${path}`).toEqual({ status, code });
    }

    const upload = signedUpload(t, "fw.bin", "0123456789");
    const uploaded = await answered("POST", "/api/assets", {
      headers: { "Content-Type": upload.contentType },
      body: upload.body,
    });
    expect(uploaded.status).toBe(200);
    for (const [headers, status] of [
      [{ ...AUTH, Range: "bytes=2-5" }, 206],
      [{ ...AUTH, Range: "bytes=100-" }, 416],
      [{ ...AUTH, "If-None-Match": `"${sha256("0123456789")}"` }, 304],
    ] as const) {
      expect((await answered("GET", "/files/assets/fw.bin", { headers })).status).toBe(status);
    }
  });

  it("documents what every route answers when the storage cannot be used", async () => {
    (t.storage as unknown as { setAvailable(v: boolean): void }).setAvailable(false);
    try {
      const seen = new Set<string>();
      for (const route of t.app.routes.filter((r) => r.method !== "ALL")) {
        const path = route.path.replace(":mac", MAC).replace(":file", `${MAC}.json`).replace(":name", "fw.bin");
        const body = route.method === "PUT" ? JSON.stringify({ content: {} }) : undefined;
        const { status, code } = await answered(route.method, path, {
          headers: { ...AUTH, "Content-Type": "application/json" },
          body,
        });
        seen.add(`${status} ${code}`);
      }
      // The probe reached the storage: some routes did answer that it is unusable.
      expect(seen).toContain("503 STORAGE_UNAVAILABLE");
    } finally {
      (t.storage as unknown as { setAvailable(v: boolean): void }).setAvailable(true);
    }
  });
});
