/**
 * What the API docs page references, fetched as a browser would: every script, stylesheet
 * and icon URL in /api/docs must be a path on the same server, and that server must answer
 * it with the right type and the installed swagger-ui-dist package's exact bytes.
 * Used against the app in-process, the Node server and the Worker under wrangler dev.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { expect } from "vitest";

const require = createRequire(import.meta.url);
export const SWAGGER_UI_DIR = dirname(require.resolve("swagger-ui-dist/package.json"));

/** Every <script> and <link> tag of a page, with its attributes. */
export function tags(html: string, name: "script" | "link"): Array<Record<string, string>> {
  return [...html.matchAll(new RegExp(`<${name}\\b([^>]*)>`, "gi"))].map((m) => {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? "").matchAll(/([a-z-]+)(?:="([^"]*)")?/gi)) attrs[a[1]!.toLowerCase()] = a[2] ?? "";
    return attrs;
  });
}

/** What each kind of reference must be served as. */
const TYPES = { script: /^text\/javascript\b/, stylesheet: /^text\/css\b/, icon: /^image\/(png|x-icon|svg\+xml)\b/ };

export interface Loaded {
  url: string;
  kind: keyof typeof TYPES;
  response: Response;
  body: Uint8Array;
}

/**
 * Loads /api/docs through `fetch` (paths relative to `origin`), then every script,
 * stylesheet and icon it references, asserting each is on `origin` and answered 200 with a
 * type that fits. Returns the page and what was loaded, for further checks.
 */
export async function loadDocsPage(
  fetch: (path: string) => Response | Promise<Response>,
  origin: string,
): Promise<{ page: Response; html: string; loaded: Loaded[] }> {
  const page = await fetch("/api/docs");
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toMatch(/^text\/html\b/);
  const html = await page.text();
  const refs = [
    ...tags(html, "script")
      .filter((s) => s.src !== undefined)
      .map((s) => ({ url: s.src as string, kind: "script" as const })),
    ...tags(html, "link")
      .filter((l) => l.rel === "stylesheet" || l.rel === "icon")
      .map((l) => ({ url: l.href as string, kind: l.rel === "icon" ? ("icon" as const) : ("stylesheet" as const) })),
  ];
  expect(refs.filter((r) => r.kind === "script").length).toBeGreaterThan(0);
  expect(refs.filter((r) => r.kind === "stylesheet").length).toBeGreaterThan(0);
  const loaded: Loaded[] = [];
  for (const ref of refs) {
    // Resolved as the browser resolves it against the page's address: it must stay on this server.
    const resolved = new URL(ref.url, `${origin}/api/docs`);
    expect(resolved.origin, `${ref.url} is not on this server`).toBe(new URL(origin).origin);
    const response = await fetch(`${resolved.pathname}${resolved.search}`);
    expect(response.status, ref.url).toBe(200);
    const type = response.headers.get("content-type") ?? "";
    expect(type, ref.url).toMatch(TYPES[ref.kind]);
    expect(response.headers.get("x-content-type-options"), ref.url).toBe("nosniff");
    loaded.push({ ...ref, response, body: new Uint8Array(await response.arrayBuffer()) });
  }
  return { page, html, loaded };
}

/** Asserts the Swagger UI files among `loaded` are the installed package's, byte for byte, at a versioned path, cached long. */
export async function expectPackageFiles(loaded: Loaded[]): Promise<void> {
  const { version } = JSON.parse(await readFile(join(SWAGGER_UI_DIR, "package.json"), "utf8")) as { version: string };
  const fromPackage = loaded.filter((l) => l.url.includes("/swagger-ui/"));
  expect(fromPackage.map((l) => l.url.split("/").pop()).sort()).toEqual([
    "favicon-32x32.png",
    "swagger-ui-bundle.js",
    "swagger-ui.css",
  ]);
  for (const file of fromPackage) {
    expect(file.url).toBe(`/api/docs/swagger-ui/${version}/${file.url.split("/").pop()}`);
    const installed = new Uint8Array(await readFile(join(SWAGGER_UI_DIR, file.url.split("/").pop() as string)));
    expect(Buffer.compare(file.body, installed), `${file.url} differs from the installed package`).toBe(0);
    expect(file.response.headers.get("cache-control")).toMatch(/max-age=31536000\b.*immutable/);
  }
}
