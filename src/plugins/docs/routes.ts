/**
 * GET /api/docs (interactive Swagger UI), /api/docs/init.js (the script that starts it)
 * and /api/docs/openapi.json (the generated document). What the page loads, and the
 * policy it runs under, is in docs-page.ts.
 */
import { Hono } from "hono";
import type { AppEnv } from "../../core/deps.js";
import { buildOpenApiDocument } from "./openapi.js";
import { DOCS_PAGE_HTML, DOCS_SECURITY_HEADERS, INIT_SCRIPT } from "./page.js";

export function docsRoutes(version: string) {
  const document = buildOpenApiDocument(version);
  return new Hono<AppEnv>()
    .get("/openapi.json", (c) => c.json(document))
    .get("/", (c) => c.html(DOCS_PAGE_HTML, 200, DOCS_SECURITY_HEADERS))
    .get("/init.js", (c) =>
      c.body(INIT_SCRIPT, 200, { ...DOCS_SECURITY_HEADERS, "Content-Type": "text/javascript; charset=utf-8" }),
    );
}
