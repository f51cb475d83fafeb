/**
 * The Swagger UI page, its initialisation script, and the policy they run under.
 *
 * The page shares an origin with PUT/DELETE of device configs, so it loads third-party
 * code only from one exact swagger-ui-dist version, checked by Subresource Integrity:
 * a changed file on the CDN is refused by the browser instead of run. Everything here is
 * a constant, because Workers have no filesystem to read the package from at run time.
 *
 * To upgrade: `npm install -D --save-exact swagger-ui-dist@<new>`, then set the version
 * and both hashes (`openssl dgst -sha384 -binary <file> | base64`). test/docs.test.ts fails
 * until the three agree with the installed package.
 */

const SWAGGER_UI_VERSION = "5.35.0";

// jsDelivr's /npm/ paths serve the npm package's files byte for byte, so the hashes are
// those of node_modules/swagger-ui-dist/… for the version above.
const CDN = `https://cdn.jsdelivr.net/npm/swagger-ui-dist@${SWAGGER_UI_VERSION}`;
const BUNDLE = {
  url: `${CDN}/swagger-ui-bundle.js`,
  integrity: "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9",
};
const STYLESHEET = {
  url: `${CDN}/swagger-ui.css`,
  integrity: "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I",
};

const OPENAPI_PATH = "/api/docs/openapi.json";
const INIT_SCRIPT_PATH = "/api/docs/init.js";

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
<link rel="stylesheet" href="${STYLESHEET.url}" integrity="${STYLESHEET.integrity}" crossorigin="anonymous">
<script defer src="${BUNDLE.url}" integrity="${BUNDLE.integrity}" crossorigin="anonymous"></script>
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
  // The init script from our origin, and the one pinned bundle file (a full path, not the
  // CDN host, so no other package on jsDelivr qualifies). No 'unsafe-inline', no
  // 'unsafe-eval': the bundle's Function("return this") only runs where globalThis is missing.
  `script-src 'self' ${BUNDLE.url}`,
  // The one pinned stylesheet. No 'unsafe-inline': the only inline styles Swagger UI writes
  // as markup are text-align on Markdown table cells, which our descriptions do not use;
  // losing that alignment is the whole cost.
  `style-src ${STYLESHEET.url}`,
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
  // The CDN needs no Referer to serve a file; nothing about our host or paths leaks to it.
  "Referrer-Policy": "no-referrer",
};
