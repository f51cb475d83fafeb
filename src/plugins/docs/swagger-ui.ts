/**
 * The Swagger UI files the docs page loads, served by this server from the installed
 * swagger-ui-dist package (never from another host, so the docs work on an offline LAN).
 * How a runtime reads them is its own: from the package on disk (package-files.ts: Node,
 * Deno, Bun), or through the Worker's static assets binding (assets-binding.ts).
 *
 * To upgrade: `npm install --save-exact swagger-ui-dist@<new>` and set the version below;
 * test/docs.test.ts fails until the two agree. The version is in the files' path, so
 * browsers may keep them for a year and still never run an old one against a new page.
 */

export const SWAGGER_UI_VERSION = "5.35.0";

/** The files the page needs, and the type each is served as. */
export const SWAGGER_UI_FILES = {
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
  // Named by the page, so the browser does not ask for /favicon.ico (a 404 in its console).
  "favicon-32x32.png": "image/png",
} as const;

export type SwaggerUiFile = keyof typeof SWAGGER_UI_FILES;

/** Where the page finds them (docs routes at /api/docs). */
export const swaggerUiPath = (file: SwaggerUiFile) => `/api/docs/swagger-ui/${SWAGGER_UI_VERSION}/${file}`;

/** Reads one of the files; a failure is a server fault (the runtime checked at boot that they are there). */
export interface SwaggerUiFiles {
  read(file: SwaggerUiFile): Promise<Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>>;
}
