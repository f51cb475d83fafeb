/**
 * The Swagger UI page, its initialisation script, and the policy they run under.
 *
 * The page shares an origin with PUT/DELETE of device configs, so it loads code from this
 * server only: Swagger UI's own files from the installed package (swagger-ui.ts), at a path
 * that names their version, and the init script below. Nothing comes from another host, so
 * the page works on a LAN without internet access and no CDN can change what runs here.
 */
import { swaggerUiPath } from "./swagger-ui.js";

const OPENAPI_PATH = "/api/docs/openapi.json";
export const INIT_SCRIPT_PATH = "/api/docs/init.js";

/**
 * Served from our origin rather than inline, so script-src needs neither 'unsafe-inline'
 * nor a hash to keep in step with it.
 */
export const INIT_SCRIPT = `"use strict";
window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(OPENAPI_PATH)},
  dom_id: "#swagger-ui",
  // Never let ?url= / ?configUrl= in the address bar choose what the page loads
  // (already off by default in 5.x; stated so an upgrade cannot turn it back on).
  queryConfigEnabled: false,
  // No badge image from validator.swagger.io: it would need img-src for a third party
  // and would send the document's address there.
  validatorUrl: null,
  deepLinking: true,
});
`;

export const DOCS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>IoT Support server API</title>
<link rel="icon" type="image/png" href="${swaggerUiPath("favicon-32x32.png")}">
<link rel="stylesheet" href="${swaggerUiPath("swagger-ui.css")}">
<script defer src="${swaggerUiPath("swagger-ui-bundle.js")}"></script>
<script defer src="${INIT_SCRIPT_PATH}"></script>
</head>
<body>
<div id="swagger-ui"></div>
<noscript>The interactive docs need JavaScript. The OpenAPI document is at <a href="${OPENAPI_PATH}">${OPENAPI_PATH}</a>.</noscript>
</body>
</html>
`;

/**
 * Each directive allows what the page was found to need and nothing more. Found by reading
 * swagger-ui-dist 5.35.0: the bundle creates no <style> elements (only the standalone
 * preset does, for its top-bar logo, and the page does not load it); React applies style
 * props through the CSSOM, which CSP does not govern; the stylesheet has no fonts or
 * imports, but draws its icons as data: images.
 */
const DOCS_CSP = [
  // Anything not listed below (fonts, frames, workers, objects, manifests) is refused.
  "default-src 'none'",
  // Swagger UI's bundle and the init script, both from this server. No 'unsafe-inline', no
  // 'unsafe-eval': the bundle's Function("return this") only runs where globalThis is missing.
  "script-src 'self'",
  // Swagger UI's stylesheet. No 'unsafe-inline': the only inline styles Swagger UI writes as
  // markup are text-align on Markdown table cells, which our descriptions do not use; losing
  // that alignment is the whole cost.
  "style-src 'self'",
  // data: for the stylesheet's SVG/PNG icons (expand arrows, lock, copy).
  "img-src 'self' data:",
  // Fetching the document and "Try it out" requests; the document declares no other servers.
  "connect-src 'self'",
  // Not framed (clickjacking a Delete button), no <base> to re-point relative URLs,
  // no form posts anywhere (Swagger UI sends requests with fetch, not forms).
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

/** Sent with the page and the init script. */
export const DOCS_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": DOCS_CSP,
  // The init script must run only as the JavaScript it is labelled as.
  "X-Content-Type-Options": "nosniff",
  // Nothing about our host or paths needs to leave with a link followed from the docs.
  "Referrer-Policy": "no-referrer",
};
