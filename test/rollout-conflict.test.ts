/**
 * INVALID_OPERATION at 409 (SPEC "Rollouts": a state that forbids the action, a target in
 * another rollout): conflict() makes it, the error handler answers it with that status in
 * the error body too, and a route can document it; no other code takes a second status.
 */
import { describe, expect, it } from "vitest";
import { createApi, createRoute } from "../src/core/api-routes.js";
import { AppError, conflict, statusesOf, toErrorBody } from "../src/core/errors.js";
import { errorHandler } from "../src/core/http-errors.js";
import { createMemoryLogger } from "../src/core/logger.js";
import { completeRoute } from "../src/core/route-errors.js";

const okRoute = (errors: Record<string, unknown>) =>
  createRoute({
    method: "post",
    path: "/api/rollouts/{id}/pause",
    responses: { 200: { description: "Paused" } },
    errors: errors as never,
  });

describe("INVALID_OPERATION at 409", () => {
  it("conflict() makes an INVALID_OPERATION whose status and error body say 409", () => {
    const error = conflict("The rollout is completed: it cannot be paused", { rollout_id: "7", state: "completed" });
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe("INVALID_OPERATION");
    expect(error.status).toBe(409);
    expect(toErrorBody(error, "req-1")).toEqual({
      error: "The rollout is completed: it cannot be paused",
      details: { rollout_id: "7", state: "completed" },
      code: "INVALID_OPERATION",
      status: 409,
      correlationId: "req-1",
    });
  });

  it("is answered 409 by the app's error handler, the body repeating the status", async () => {
    const app = createApi();
    app.onError(errorHandler(createMemoryLogger()));
    app.post("/api/rollouts/:id/pause", () => {
      throw conflict("The rollout is completed: it cannot be paused", { rollout_id: "7" });
    });
    const res = await app.request("/api/rollouts/7/pause", { method: "POST" });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: "INVALID_OPERATION", status: 409, details: { rollout_id: "7" } });
  });

  it("leaves every other INVALID_OPERATION at 400, and refuses 409 for any other code", () => {
    expect(new AppError("INVALID_OPERATION", "bad MAC").status).toBe(400);
    expect(new AppError("VALIDATION_FAILED", "no", { status: 409 }).status).toBe(400);
    expect(statusesOf("INVALID_OPERATION")).toEqual([400, 409]);
    expect(statusesOf("VALIDATION_FAILED")).toEqual([400]);
  });

  it("can be documented for a route: a 409 response whose code is INVALID_OPERATION", () => {
    const route = completeRoute(
      okRoute({ INVALID_OPERATION: { status: 409, when: "The rollout's state does not allow it" } }),
    );
    const conflictResponse = route.responses[409] as { description: string };
    expect(conflictResponse.description).toBe("INVALID_OPERATION: The rollout's state does not allow it");
    expect(route.responses[400]).toBeUndefined();
    expect(() => completeRoute(okRoute({ VALIDATION_FAILED: { status: 409, when: "never" } }))).toThrow(
      /VALIDATION_FAILED is never answered 409/,
    );
  });
});
