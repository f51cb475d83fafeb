/**
 * /api/rollouts: create, list, get, and the four actions, over the engine (contract.ts
 * `Rollouts`). Admin scope (core/auth/gate.ts isAdminRoute). The create body is JSON only
 * (a cross-site form cannot send it without a CORS preflight), at most
 * rolloutBodyLimit(MAX_CONFIG_BYTES) bytes (413 above, said by Content-Length before any
 * byte is read), and checked by rollout-body.ts, whose errors name the field at fault; a
 * number in the patch that a double cannot hold exactly is refused as a config's would be.
 * Each route is declared once (schemas.ts): that definition mounts it and documents it.
 */
import { addRoute, createApi } from "../../core/api-routes.js";
import type { AppDeps } from "../../core/deps.js";
import { AppError, payloadTooLarge, validationFailed } from "../../core/errors.js";
import { inexactNumber } from "../configs/json-numbers.js";
import { readGuardedBytes } from "../request-limits/body-guard.js";
import type { RolloutAction, RolloutSpec } from "./contract.js";
import { readRolloutBody, rolloutBodyLimit } from "./rollout-body.js";
import { ROLLOUT_ROUTES } from "./schemas.js";

const isJson = (contentType: string | undefined) =>
  contentType !== undefined && /^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType.trim());

async function readCreateBody(request: Request, maxBytes: number, idleMs: number): Promise<RolloutSpec> {
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBytes) throw payloadTooLarge(maxBytes);
  if (!isJson(request.headers.get("content-type") ?? undefined)) {
    throw validationFailed("Request body must be JSON (Content-Type: application/json)", { field: "body" });
  }
  const bytes = request.body ? await readGuardedBytes(request.body, { maxBytes, idleMs }) : new Uint8Array();
  let text: string;
  let parsed: unknown;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AppError("VALIDATION_FAILED", "Malformed JSON (or not UTF-8) in request body", {
      details: { field: "body" },
      cause: error,
    });
  }
  const spec = readRolloutBody(parsed);
  // Checked after the fields: every other number is an integer in a small range by then, so an
  // inexact one is in the patch, where it would reach each device's config altered (1e400 → null).
  const inexact = inexactNumber(text);
  if (inexact !== undefined) {
    throw validationFailed(
      `the number ${inexact.slice(0, 40)} in patch cannot be stored exactly (JSON numbers are read as ` +
        "IEEE-754 doubles); send it as a string",
      { field: "patch" },
    );
  }
  return spec;
}

export function rolloutRoutes(deps: AppDeps) {
  const { rollouts } = deps;
  const maxBytes = rolloutBodyLimit(deps.limits.maxConfigBytes);
  const app = createApi();
  addRoute(app, ROLLOUT_ROUTES.create, async (c) => {
    const spec = await readCreateBody(c.req.raw, maxBytes, deps.limits.idleTimeoutMs);
    return c.json(await rollouts.create(spec), 201);
  });
  addRoute(app, ROLLOUT_ROUTES.list, async (c) => {
    const list = await rollouts.list();
    return c.json({ rollouts: list, count: list.length });
  });
  addRoute(app, ROLLOUT_ROUTES.get, async (c) => c.json(await rollouts.get(c.req.param("id"))));
  for (const action of ["pause", "resume", "abort", "rollback"] as const satisfies RolloutAction[]) {
    addRoute(app, ROLLOUT_ROUTES[action], async (c) => c.json(await rollouts.act(c.req.param("id"), action)));
  }
  return app;
}
