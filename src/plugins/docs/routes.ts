/**
 * GET /api/docs (Swagger UI), /api/docs/init.js (the script that starts it), Swagger UI's
 * own files at a versioned path, and /api/docs/openapi.json (the document, generated from
 * the assembled app on its first request). What the page loads, and the policy it runs
 * under, is in page.ts.
 */
import { type Api, addRoute, createApi, createRoute } from "../../core/api-routes.js";
import { buildOpenApiDocument } from "./openapi.js";
import { DOCS_PAGE_HTML, DOCS_SECURITY_HEADERS, INIT_SCRIPT } from "./page.js";
import { SWAGGER_UI_FILES, SWAGGER_UI_VERSION, type SwaggerUiFile, type SwaggerUiFiles } from "./swagger-ui.js";

const text = (type: string, description: string) => ({
  200: { description, content: { [type]: { schema: { type: "string" as const } } } },
});
const tags = ["API docs"];

const docsPage = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "This page: interactive API docs (Swagger UI), loading nothing from another host",
  responses: text("text/html", "The page"),
});
const initScript = createRoute({
  method: "get",
  path: "/init.js",
  tags,
  summary: "The script that starts Swagger UI on the page",
  responses: text("text/javascript", "The script"),
});
const openApiJson = createRoute({
  method: "get",
  path: "/openapi.json",
  tags,
  summary: "This document (OpenAPI 3.1)",
  responses: { 200: { description: "The document", content: { "application/json": { schema: { type: "object" } } } } },
});
const uiFile = (file: SwaggerUiFile) =>
  createRoute({
    method: "get",
    path: `/swagger-ui/${SWAGGER_UI_VERSION}/${file}`,
    tags,
    summary: `Swagger UI's ${file}, from the installed swagger-ui-dist package; cached for a year (the path names the version)`,
    responses: text(SWAGGER_UI_FILES[file].split(";")[0] as string, "The file"),
  });

/** A year: the path changes with the version, so a kept copy is never stale. */
const IMMUTABLE = "public, max-age=31536000, immutable";

export function docsRoutes(root: Api, version: string, files: SwaggerUiFiles): Api {
  let document: ReturnType<typeof buildOpenApiDocument> | undefined;
  const app = createApi();
  // Made on first request, when every route is mounted; the same document after that.
  addRoute(app, openApiJson, (c) => {
    document ??= buildOpenApiDocument(root, version);
    return c.json(document);
  });
  addRoute(app, docsPage, (c) => c.html(DOCS_PAGE_HTML, 200, DOCS_SECURITY_HEADERS));
  addRoute(app, initScript, (c) =>
    c.body(INIT_SCRIPT, 200, { ...DOCS_SECURITY_HEADERS, "Content-Type": "text/javascript; charset=utf-8" }),
  );
  for (const file of Object.keys(SWAGGER_UI_FILES) as SwaggerUiFile[]) {
    addRoute(app, uiFile(file), async (c) =>
      c.body(await files.read(file), 200, { "Content-Type": SWAGGER_UI_FILES[file], "Cache-Control": IMMUTABLE }),
    );
  }
  return app;
}
