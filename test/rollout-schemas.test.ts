/**
 * The OpenAPI definitions of /api/rollouts (ROLLOUT_ROUTES), mounted as routes.ts will mount
 * them, in the document the docs plugin builds: the seven operations, admin-only, each with
 * the answers SPEC gives it (201 on create; 404 for an unknown id; 409 INVALID_OPERATION for
 * a state conflict; 400 and 413 for a bad body), and RolloutCreate agreeing with
 * readRolloutBody on an example. Handlers here are stand-ins: the engine's routes are
 * tested with the engine.
 */
import { describe, expect, it } from "vitest";
import { addRoute, createApi } from "../src/core/api-routes.js";
import { readRolloutBody } from "../src/features/rollouts/rollout-body.js";
import { ROLLOUT_ROUTES, RolloutCreate } from "../src/features/rollouts/schemas.js";
import { buildOpenApiDocument } from "../src/plugins/docs/openapi.js";

interface Operation {
  security?: unknown[];
  responses: Record<string, { description: string; content?: Record<string, { schema: Schema }> }>;
}
interface Schema {
  $ref?: string;
  allOf?: Schema[];
  properties?: Record<string, { enum?: unknown[]; const?: unknown }>;
}

function documented() {
  const sub = createApi();
  for (const route of Object.values(ROLLOUT_ROUTES)) addRoute(sub, route, (c) => c.json({}));
  const app = createApi();
  app.route("/api/rollouts", sub);
  const doc = buildOpenApiDocument(app, "test") as unknown as {
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, unknown> };
  };
  return { app, doc };
}

const codesOf = (operation: Operation | undefined, status: number) =>
  operation?.responses[String(status)]?.content?.["application/json"]?.schema.allOf?.[1]?.properties?.code?.enum;

describe("ROLLOUT_ROUTES in the OpenAPI document", () => {
  const { app, doc } = documented();
  const op = (method: string, path: string) => doc.paths[path]?.[method];

  it("declares the seven operations of SPEC under /api/rollouts, each mounted", () => {
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        "GET /api/rollouts",
        "POST /api/rollouts",
        "GET /api/rollouts/{id}",
        ...["pause", "resume", "abort", "rollback"].map((a) => `POST /api/rollouts/{id}/${a}`),
      ].sort(),
    );
    expect(app.routes.filter((r) => r.method !== "ALL")).toHaveLength(7);
  });

  it("answers 201 with a Rollout on create, and documents its body, conflict and size errors", () => {
    const create = op("post", "/api/rollouts");
    expect(create?.responses["201"]?.content?.["application/json"]?.schema.$ref).toBe("#/components/schemas/Rollout");
    expect(codesOf(create, 400)).toEqual(["VALIDATION_FAILED"]);
    expect(codesOf(create, 409)).toEqual(["INVALID_OPERATION"]);
    expect(codesOf(create, 413)).toEqual(["PAYLOAD_TOO_LARGE"]);
    expect(create?.security).toEqual([{ bearerAuth: [] }]);
  });

  it("documents 404 for an unknown id and 409 INVALID_OPERATION (not 400) for every action", () => {
    for (const action of ["pause", "resume", "abort", "rollback"]) {
      const operation = op("post", `/api/rollouts/{id}/${action}`);
      expect(codesOf(operation, 404), action).toEqual(["RECORD_NOT_FOUND"]);
      expect(codesOf(operation, 409), action).toEqual(["INVALID_OPERATION"]);
      expect(operation?.responses["400"], action).toBeUndefined();
      expect(operation?.responses["200"]?.content?.["application/json"]?.schema.$ref).toBe(
        "#/components/schemas/Rollout",
      );
    }
    expect(codesOf(op("get", "/api/rollouts/{id}"), 404)).toEqual(["RECORD_NOT_FOUND"]);
    expect(op("get", "/api/rollouts")?.responses["200"]?.content?.["application/json"]?.schema.$ref).toBe(
      "#/components/schemas/RolloutList",
    );
  });

  it("names its schemas as components", () => {
    for (const id of ["Rollout", "RolloutList", "RolloutCreate", "RolloutWave", "RolloutCounts"]) {
      expect(doc.components.schemas, id).toHaveProperty(id);
    }
  });
});

describe("RolloutCreate and readRolloutBody", () => {
  it("agree on the documented example, and both refuse an unknown field", () => {
    const example = RolloutCreate.meta()?.example as Record<string, unknown>;
    expect(RolloutCreate.safeParse(example).success).toBe(true);
    expect(readRolloutBody(structuredClone(example))).toEqual(RolloutCreate.parse(example));
    const extra = { ...example, advance_when: { applied_percent: 90, within_s: 60, after: 1 } };
    expect(RolloutCreate.safeParse(extra).success).toBe(false);
    expect(() => readRolloutBody(extra)).toThrow(/advance_when\.after/);
  });
});
