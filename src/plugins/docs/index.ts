/**
 * The API docs plugin, chosen by API_DOCS (on by default): Swagger UI at /api/docs and the
 * OpenAPI document at /api/docs/openapi.json. Off, /api/docs* are unknown routes (404
 * ROUTE_NOT_FOUND) and Swagger UI's files are never looked for.
 */
import type { Api, RoutePlugin } from "../../core/api-routes.js";
import type { Settings } from "../../core/settings.js";
import { registerSecurityScheme } from "./openapi.js";
import { docsRoutes } from "./routes.js";
import type { SwaggerUiFiles } from "./swagger-ui.js";

export interface ApiDocsOptions {
  /** The server's version, in the document's info. */
  version: string;
  /** How this runtime reads Swagger UI's files. */
  files: SwaggerUiFiles;
}

export function createApiDocs(options: ApiDocsOptions): RoutePlugin {
  return {
    name: "api-docs",
    mount(app: Api) {
      registerSecurityScheme(app);
      app.route("/api/docs", docsRoutes(app, options.version, options.files));
    },
  };
}

/** The plugin when API_DOCS is on; `files` is asked for only then (it may check the disk or a binding). */
export async function selectApiDocs(
  settings: Pick<Settings, "apiDocs">,
  version: string,
  files: () => SwaggerUiFiles | Promise<SwaggerUiFiles>,
): Promise<RoutePlugin | undefined> {
  return settings.apiDocs ? createApiDocs({ version, files: await files() }) : undefined;
}
