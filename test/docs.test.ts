/**
 * The interactive docs page loads nothing from another host: Swagger UI's files come from
 * the installed swagger-ui-dist package, served by this server at a path that names their
 * version, and the page runs under a Content-Security-Policy that allows this server only.
 * API_DOCS=false leaves /api/docs* to the 404 handler. (The same page on the Node server and
 * the Worker, and in a real browser: test/docs-browser.test.ts.)
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSettings, SettingsError } from "../src/core/settings.js";
import { SWAGGER_UI_VERSION } from "../src/plugins/docs/swagger-ui.js";
import { createTestApp, type TestApp } from "./support/app.js";
import { expectPackageFiles, loadDocsPage, SWAGGER_UI_DIR, tags } from "./support/docs-page.js";

/** The CSP as directive → sources. */
function parseCsp(header: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of header.split(";")) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out.set(name.toLowerCase(), sources);
  }
  return out;
}

describe("interactive API docs", () => {
  let t: TestApp;
  let page: Response;
  let html: string;
  beforeAll(async () => {
    t = await createTestApp("memory");
    page = await t.app.request("/api/docs");
    html = await page.text();
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it("serves every script and stylesheet the page references itself: the installed package's bytes, at a versioned path, cached for a year", async () => {
    const { loaded } = await loadDocsPage((path) => t.app.request(path), "http://localhost");
    await expectPackageFiles(loaded);
  });

  it("names the installed swagger-ui-dist version, pinned exactly among the run-time dependencies", async () => {
    const installed = JSON.parse(await readFile(join(SWAGGER_UI_DIR, "package.json"), "utf8")) as { version: string };
    expect(SWAGGER_UI_VERSION).toBe(installed.version);
    const manifest = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    // The Node bundle's build and the Worker's static assets take the files from the installed package.
    expect(manifest.dependencies["swagger-ui-dist"]).toBe(installed.version);
    expect(manifest.devDependencies["swagger-ui-dist"]).toBeUndefined();
  });

  it("references nothing on another host", () => {
    const urls = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(url, url).toMatch(/^\/(?!\/)/);
  });

  it("has no inline script and no inline event handlers", () => {
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
      expect(m[1], "every script has a src").toMatch(/\bsrc="/);
      expect(m[2]!.trim(), "and no body").toBe("");
    }
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/javascript:/i);
  });

  it("keeps a plain link to the OpenAPI document for readers without JavaScript", () => {
    expect(html).toContain('href="/api/docs/openapi.json"');
  });

  it("sends a Content-Security-Policy that allows this server only, and the companion headers", () => {
    const header = page.headers.get("content-security-policy");
    expect(header).toBeTruthy();
    const csp = parseCsp(header!);
    expect(csp.get("default-src")).toEqual(["'none'"]);
    expect(csp.get("script-src")).toEqual(["'self'"]);
    expect(csp.get("style-src")).toEqual(["'self'"]);
    expect(csp.get("img-src")).toEqual(["'self'", "data:"]);
    expect(csp.get("connect-src")).toEqual(["'self'"]);
    expect(csp.get("frame-ancestors")).toEqual(["'none'"]);
    expect(csp.get("base-uri")).toEqual(["'none'"]);
    expect(csp.get("form-action")).toEqual(["'none'"]);
    expect([...csp.keys()].sort()).toEqual([
      "base-uri",
      "connect-src",
      "default-src",
      "form-action",
      "frame-ancestors",
      "img-src",
      "script-src",
      "style-src",
    ]);
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
  });

  it("serves the initialisation script as JavaScript, pointing at the OpenAPI document", async () => {
    const src = tags(html, "script")
      .map((s) => s.src!)
      .find((s) => s.startsWith("/api/docs/init"));
    expect(src).toBe("/api/docs/init.js");
    const res = await t.app.request(src!);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/javascript\b/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("content-security-policy")).toBeTruthy();
    const body = await res.text();
    expect(body).toContain("SwaggerUIBundle(");
    expect(body).toContain('url: "/api/docs/openapi.json"');
    expect(body).toContain('dom_id: "#swagger-ui"');
    expect(body).toMatch(/queryConfigEnabled:\s*false/);
    // Parses as a script (a syntax error would leave the page blank with no server-side sign).
    expect(() => new Function(body)).not.toThrow();
  });

  it("serves the OpenAPI document as JSON, without the page's headers", async () => {
    const res = await t.app.request("/api/docs/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(res.headers.get("content-security-policy")).toBeNull();
    expect(((await res.json()) as { openapi: string }).openapi).toBe("3.1.0");
  });
});

describe("API_DOCS", () => {
  it("false: every /api/docs route is an unknown route (404 ROUTE_NOT_FOUND); the rest of the API is unchanged", async () => {
    const on = await createTestApp("memory");
    const off = await createTestApp("memory", { API_DOCS: "false" });
    try {
      const docsPaths = on.app.routes
        .filter((r) => r.method === "GET" && r.path.startsWith("/api/docs"))
        .map((r) => r.path);
      expect(docsPaths.length).toBeGreaterThanOrEqual(5);
      for (const path of docsPaths) {
        expect((await on.app.request(path)).status, path).toBe(200);
        const res = await off.app.request(path);
        expect(res.status, path).toBe(404);
        expect(((await res.json()) as { code: string }).code).toBe("ROUTE_NOT_FOUND");
      }
      expect(off.app.routes.filter((r) => r.path.startsWith("/api/docs"))).toEqual([]);
      expect((await off.app.request("/api/health")).status).toBe(200);
      expect((await off.app.request("/api/configs")).status).toBe(200);
    } finally {
      await on.cleanup();
      await off.cleanup();
    }
  });

  it("is true by default and refuses anything but a boolean, naming the variable", () => {
    expect(loadSettings({}).apiDocs).toBe(true);
    expect(loadSettings({ API_DOCS: "false" }).apiDocs).toBe(false);
    expect(() => loadSettings({ API_DOCS: "sometimes" })).toThrow(SettingsError);
    expect(() => loadSettings({ API_DOCS: "sometimes" })).toThrow(/API_DOCS/);
  });
});
