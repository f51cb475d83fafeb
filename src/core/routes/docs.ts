/** GET /api/docs (interactive Swagger UI) and /api/docs/openapi.json (the generated document). */
import { swaggerUI } from "@hono/swagger-ui";
import { Hono } from "hono";
import type { AppEnv } from "../deps.js";
import { buildOpenApiDocument } from "../openapi.js";

export function docsRoutes(version: string) {
  const document = buildOpenApiDocument(version);
  return new Hono<AppEnv>()
    .get("/openapi.json", (c) => c.json(document))
    .get("/", swaggerUI({ url: "/api/docs/openapi.json", title: "IoT Support server API" }));
}
