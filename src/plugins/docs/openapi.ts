/**
 * The OpenAPI 3.1 document, generated from the assembled app: every route is declared with
 * `createRoute` (core/api-routes.ts), and the app's registry holds those very definitions,
 * completed with the errors each route shares with its scope (core/route-errors.ts). Nothing
 * about a path is written here, so the document cannot drift from the routes.
 */
import type { Api } from "../../core/api-routes.js";
import { completeRoutes } from "../../core/route-errors.js";

const DESCRIPTION = [
  "Per-device JSON configurations keyed by MAC address, signed asset uploads, and update notifications (MQTT, webhook) for ESP32 fleets.",
  "Every error answer is JSON in one shape (the `Error` schema, docs/reference.md); each operation lists the codes it can answer with.",
  "Bearer tokens are needed only where the server is configured for them (see the `bearerAuth` scheme).",
  "Before any route, the Node server also answers a malformed request with 400 `VALIDATION_FAILED`, request headers that take too long with 408 `REQUEST_TIMEOUT`, headers that are too large with 431 `HEADERS_TOO_LARGE`, and an `Expect` other than `100-continue` with 417 `EXPECTATION_FAILED`, in the same shape.",
].join("\n\n");

/** Adds the bearer scheme the operations' `security` names; once, when the docs are mounted. */
export function registerSecurityScheme(app: Api): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description:
      "An API token (its SHA-256 in API_TOKEN_HASHES; make one with `npx iot-token`) or an OIDC access token from OIDC_ISSUER. Required on admin operations when either is configured; /metrics and /files take their own tokens when METRICS_TOKEN_HASHES or DEVICE_TOKEN_HASHES are set.",
  });
}

/** The document of the assembled `app`: call it once every route is mounted (on the first request). */
export function buildOpenApiDocument(app: Api, version: string) {
  completeRoutes(app);
  // No top-level `security`: health, the docs and uploads need none; each operation says its own.
  return app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: { title: "IoT Support server", version, description: DESCRIPTION },
  });
}
