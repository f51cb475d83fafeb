/**
 * The OpenAPI 3.1 document, generated from the zod schemas the routes validate
 * with (schemas.ts). Paths are described here; shapes come only from the schemas.
 */
import { z } from "zod";
import * as CoreSchemas from "../../core/schemas.js";
import * as AssetSchemas from "../../features/assets/schemas.js";
import * as ConfigSchemas from "../../features/configs/schemas.js";
import * as HealthSchemas from "../../features/health/schemas.js";

const S = { ...CoreSchemas, ...ConfigSchemas, ...AssetSchemas, ...HealthSchemas };

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string) => ({ "application/json": { schema: ref(id) } });
const error = (description: string) => ({ description, content: json("Error") });

/** Admin operations: a bearer token when the server has API_TOKEN_HASHES or OIDC_ISSUER set. */
const BEARER = [{ bearerAuth: [] }];
const authErrors = {
  401: error(
    "Missing or invalid bearer token, when authentication is configured (UNAUTHORIZED; WWW-Authenticate: Bearer)",
  ),
  403: error("Valid token without the required role (FORBIDDEN)"),
};
/** Open unless a token list is configured for it (METRICS_TOKEN_HASHES, DEVICE_TOKEN_HASHES). */
const OPTIONAL_BEARER = [{}, { bearerAuth: [] }];
const admin = <T extends { responses: Record<string | number, unknown> }>(operation: T) => ({
  ...operation,
  security: BEARER,
  responses: { ...operation.responses, ...authErrors },
});

const macParameter = {
  name: "mac",
  in: "path",
  required: true,
  schema: z.toJSONSchema(S.MacParam, { target: "draft-2020-12" }),
};

export function buildOpenApiDocument(version: string) {
  const registry = z.registry<{ id: string }>();
  registry.add(S.ConfigSummary, { id: "ConfigSummary" });
  registry.add(S.DeviceConfig, { id: "DeviceConfig" });
  registry.add(S.ConfigList, { id: "ConfigList" });
  registry.add(S.PutConfigBody, { id: "PutConfigBody" });
  registry.add(S.UploadForm, { id: "UploadForm" });
  registry.add(S.UploadResult, { id: "UploadResult" });
  registry.add(S.ErrorBody, { id: "Error" });
  registry.add(S.Health, { id: "Health" });
  const { schemas } = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    // Request bodies are described as clients send them (defaults optional).
    io: "input",
    uri: (id) => `#/components/schemas/${id}`,
  });
  for (const schema of Object.values(schemas)) delete (schema as { $schema?: string }).$schema;

  return {
    openapi: "3.1.0",
    info: {
      title: "IoT Support server",
      version,
      description:
        "Per-device JSON configurations keyed by MAC address, signed asset uploads, and MQTT update notifications for ESP32 fleets.",
    },
    paths: {
      "/api/configs": {
        get: admin({
          summary: "List device configurations (summaries), sorted by MAC",
          responses: { 200: { description: "All readable configurations", content: json("ConfigList") } },
        }),
      },
      "/api/configs/{mac}": {
        parameters: [macParameter],
        get: admin({
          summary: "Get one device configuration",
          responses: {
            200: { description: "The configuration", content: json("DeviceConfig") },
            400: error("Invalid MAC address (INVALID_OPERATION)"),
            404: error("No configuration for this MAC (RECORD_NOT_FOUND)"),
          },
        }),
        put: admin({
          summary: "Create or update a device configuration; devices are notified",
          requestBody: { required: true, content: json("PutConfigBody") },
          responses: {
            200: { description: "The stored configuration", content: json("DeviceConfig") },
            400: error("Invalid MAC (INVALID_OPERATION) or body (VALIDATION_FAILED)"),
            409: error(
              "Exists and allow_overwrite is false (RECORD_EXISTS), or a directory of that name is in the configs directory (NAME_OCCUPIED)",
            ),
            413: error("Body larger than MAX_CONFIG_BYTES (PAYLOAD_TOO_LARGE)"),
          },
        }),
        delete: admin({
          summary: "Delete a device configuration (no notification)",
          responses: {
            204: { description: "Deleted" },
            400: error("Invalid MAC address (INVALID_OPERATION)"),
            404: error("No configuration for this MAC (RECORD_NOT_FOUND)"),
          },
        }),
      },
      "/api/assets": {
        post: {
          summary: "Upload a signed asset (firmware, …); devices are notified",
          description:
            "Authenticated by its RSA signature (version 1: the timestamp; version 2: timestamp, filename and SHA-256 of the content), not by a bearer token. Each signature is accepted once.",
          security: [],
          requestBody: { required: true, content: { "multipart/form-data": { schema: ref("UploadForm") } } },
          responses: {
            200: { description: "Stored", content: json("UploadResult") },
            400: error("VALIDATION_FAILED; details.field names the field at fault"),
            409: error("A directory of that name is in the assets directory (NAME_OCCUPIED)"),
            413: error("Body larger than MAX_UPLOAD_BYTES (PAYLOAD_TOO_LARGE)"),
          },
        },
      },
      "/files/configs/{file}": {
        get: {
          summary: "Device read of a config file (<mac>.json), bytes exactly as stored",
          security: OPTIONAL_BEARER,
          parameters: [
            { name: "file", in: "path", required: true, schema: { type: "string", example: "aa-bb-cc-dd-ee-ff.json" } },
          ],
          responses: {
            200: { description: "The file; strong ETag (SHA-256), Last-Modified", content: { "application/json": {} } },
            304: { description: "If-None-Match matched" },
            400: error("Not a <mac>.json name (INVALID_OPERATION)"),
            404: error("No such config (RECORD_NOT_FOUND)"),
          },
        },
      },
      "/files/assets/{name}": {
        get: {
          summary: "Device read of an asset; resumable with a single Range",
          security: OPTIONAL_BEARER,
          parameters: [
            { name: "name", in: "path", required: true, schema: { type: "string", example: "firmware.bin" } },
          ],
          responses: {
            200: {
              description: "The file; strong ETag (SHA-256), Last-Modified, Accept-Ranges",
              content: { "application/octet-stream": {} },
            },
            206: { description: "The requested byte range", content: { "application/octet-stream": {} } },
            304: { description: "If-None-Match matched" },
            400: error("Invalid asset name (VALIDATION_FAILED)"),
            404: error("No such asset (RECORD_NOT_FOUND)"),
            416: { description: "Range not satisfiable; Content-Range: bytes */size" },
          },
        },
      },
      "/api/health": {
        get: {
          summary: "Health: storage usable, notification sink readiness (information)",
          security: [],
          responses: {
            200: { description: "Healthy", content: json("Health") },
            503: { description: "Storage not usable", content: json("Health") },
          },
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics",
          security: OPTIONAL_BEARER,
          responses: { 200: { description: "Text exposition format", content: { "text/plain": {} } } },
        },
      },
    },
    // No top-level `security`: health, the docs and uploads need none; admin operations say so themselves.
    components: {
      schemas,
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description:
            "An API token (its SHA-256 in API_TOKEN_HASHES; make one with `npx iot-token`) or an OIDC access token from OIDC_ISSUER. Required on admin operations when either is configured; /metrics and /files take their own tokens when METRICS_TOKEN_HASHES or DEVICE_TOKEN_HASHES are set.",
        },
      },
    },
  };
}
