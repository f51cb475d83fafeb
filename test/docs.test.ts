/**
 * The interactive docs page loads only pinned, integrity-checked code and runs under a
 * strict Content-Security-Policy. The integrity values are checked against the installed
 * swagger-ui-dist devDependency, whose files jsDelivr's /npm/ paths serve byte for byte,
 * so a version bump without new hashes (or the reverse) fails here, not in a browser.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./support/app.js";

const require = createRequire(import.meta.url);
const distDir = dirname(require.resolve("swagger-ui-dist/package.json"));
const CDN_PREFIX = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@";

async function sha384(path: string): Promise<string> {
  return `sha384-${createHash("sha384")
    .update(await readFile(path))
    .digest("base64")}`;
}

/** Every <script> and <link> tag of the page, with its attributes. */
function tags(html: string, name: "script" | "link") {
  return [...html.matchAll(new RegExp(`<${name}\\b([^>]*)>`, "gi"))].map((m) => {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? "").matchAll(/([a-z-]+)(?:="([^"]*)")?/gi)) attrs[a[1]!.toLowerCase()] = a[2] ?? "";
    return attrs;
  });
}

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

  it("serves an HTML page", () => {
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
  });

  it("loads the Swagger UI bundle and stylesheet from exactly one pinned version, with integrity", async () => {
    const scripts = tags(html, "script").filter((s) => s.src?.startsWith(CDN_PREFIX));
    const styles = tags(html, "link").filter((l) => l.rel === "stylesheet");
    expect(scripts.map((s) => s.src)).toHaveLength(1);
    expect(styles).toHaveLength(1);

    const versions = new Set([...html.matchAll(/swagger-ui-dist@([^/"]+)\//g)].map((m) => m[1]));
    expect(versions.size).toBe(1);
    const [version] = versions;
    expect(version).toMatch(/^\d+\.\d+\.\d+$/); // exact, not a range or a tag like "latest"

    const installed = JSON.parse(await readFile(join(distDir, "package.json"), "utf8")) as { version: string };
    expect(installed.version).toBe(version);
    const manifest = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    expect(manifest.devDependencies["swagger-ui-dist"]).toBe(version);

    const script = scripts[0]!;
    const style = styles[0]!;
    expect(script.src).toBe(`${CDN_PREFIX}${version}/swagger-ui-bundle.js`);
    expect(style.href).toBe(`${CDN_PREFIX}${version}/swagger-ui.css`);
    expect(script.crossorigin).toBe("anonymous");
    expect(style.crossorigin).toBe("anonymous");
    expect(script.integrity).toBe(await sha384(join(distDir, "swagger-ui-bundle.js")));
    expect(style.integrity).toBe(await sha384(join(distDir, "swagger-ui.css")));
  });

  it("loads no other third-party resource", () => {
    const urls = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    for (const url of urls) expect(url.startsWith("/") || url.startsWith(CDN_PREFIX), url).toBe(true);
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

  it("sends a strict Content-Security-Policy and the companion headers", () => {
    const header = page.headers.get("content-security-policy");
    expect(header).toBeTruthy();
    expect(header).not.toContain("unsafe-eval");
    const csp = parseCsp(header!);
    expect(csp.get("default-src")).toEqual(["'none'"]);
    const scriptSrc = csp.get("script-src") ?? [];
    expect(scriptSrc).toContain("'self'");
    expect(scriptSrc).not.toContain("'unsafe-inline'");
    // Third-party script sources are whole pinned file URLs, never a host or a wildcard.
    for (const s of scriptSrc.filter((s) => s !== "'self'"))
      expect(s).toMatch(/^https:\/\/cdn\.jsdelivr\.net\/npm\/swagger-ui-dist@\d+\.\d+\.\d+\/[^/]+\.js$/);
    for (const s of csp.get("style-src") ?? [])
      expect(s).toMatch(
        /^https:\/\/cdn\.jsdelivr\.net\/npm\/swagger-ui-dist@\d+\.\d+\.\d+\/[^/]+\.css$|^'self'$|^'unsafe-inline'$/,
      );
    expect(csp.get("connect-src")).toEqual(["'self'"]);
    expect(csp.get("img-src")).toEqual(["'self'", "data:"]);
    expect(csp.get("frame-ancestors")).toEqual(["'none'"]);
    expect(csp.get("base-uri")).toEqual(["'none'"]);
    expect(csp.get("form-action")).toEqual(["'none'"]);
    // Every URL the page loads is allowed by the policy it sends.
    for (const s of tags(html, "script")) expect(s.src!.startsWith("/") || scriptSrc.includes(s.src!)).toBe(true);
    for (const l of tags(html, "link").filter((l) => l.rel === "stylesheet"))
      expect(csp.get("style-src")).toContain(l.href);

    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
  });

  it("serves the initialisation script as JavaScript, pointing at the OpenAPI document", async () => {
    const src = tags(html, "script")
      .map((s) => s.src!)
      .find((s) => s.startsWith("/"));
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

  it("leaves the OpenAPI document as it was: JSON, without the page's headers", async () => {
    const res = await t.app.request("/api/docs/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(res.headers.get("content-security-policy")).toBeNull();
    expect(((await res.json()) as { openapi: string }).openapi).toBe("3.1.0");
  });
});
