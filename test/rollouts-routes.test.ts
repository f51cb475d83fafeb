/**
 * /api/rollouts in-process over the real app (filesystem storage, admin token on): the seven
 * routes' answers and error shapes, the create body's limits, the admin scope, and the two
 * metrics at scrape. The engine's decisions are tested in rollouts-engine.test.ts.
 */
import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RolloutView } from "../src/features/rollouts/contract.js";
import { createTestApp, type TestApp } from "./support/app.js";
import { expectError, metricValue } from "./support/http.js";
import { macs, saveConfigs, stored } from "./support/rollouts.js";

const TOKEN = "rollouts-admin-token-0123456789abcdef";
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const body = (targets: unknown, extra: Record<string, unknown> = {}) => ({
  name: "fw 2.0",
  patch: { firmware: { version: "2.0" } },
  targets,
  waves: [50, 100],
  advance_when: { applied_percent: 100, within_s: 600 },
  halt_when: { failed_percent: 50 },
  ...extra,
});

describe("rollouts API", () => {
  let t: TestApp;
  const targets = macs(4);
  beforeEach(async () => {
    t = await createTestApp("fs", { API_TOKEN_HASHES: createHash("sha256").update(TOKEN).digest("hex") });
    await saveConfigs(t, targets, (mac) => ({ deviceName: mac }), AUTH);
  });
  afterEach(async () => {
    await t.deps.rollouts.close();
    await t.cleanup();
  });

  const post = (path: string, payload?: unknown, headers: Record<string, string> = {}) =>
    t.app.request(path, {
      method: "POST",
      headers: { ...AUTH, "Content-Type": "application/json", ...headers },
      body: payload === undefined ? undefined : typeof payload === "string" ? payload : JSON.stringify(payload),
    });
  const get = (path: string) => t.app.request(path, { headers: AUTH });

  it("create answers 201 with the rollout; list, get and the actions answer it", async () => {
    const res = await post("/api/rollouts", body(targets));
    expect(res.status).toBe(201);
    const created = (await res.json()) as RolloutView;
    expect(created).toMatchObject({
      id: "1",
      name: "fw 2.0",
      state: "running",
      evidence: "report",
      waves: [
        { percent: 50, devices: 2 },
        { percent: 100, devices: 2, released_at: null },
      ],
    });
    expect(await (await get("/api/rollouts")).json()).toMatchObject({ rollouts: [{ id: "1" }], count: 1 });
    expect(await (await get("/api/rollouts/1")).json()).toMatchObject({ id: "1", state: "running" });
    expect(await (await post("/api/rollouts/1/pause")).json()).toMatchObject({ state: "paused" });
    await expectError(await post("/api/rollouts/1/pause"), 409, "INVALID_OPERATION");
    expect(await (await post("/api/rollouts/1/resume")).json()).toMatchObject({ state: "running" });
    expect(await (await post("/api/rollouts/1/abort")).json()).toMatchObject({ state: "aborted" });
    const rolledBack = (await (await post("/api/rollouts/1/rollback")).json()) as RolloutView;
    expect(rolledBack).toMatchObject({ state: "rolled_back", details: { skipped: [] } });
    for (const mac of targets) expect(JSON.parse((await stored(t, mac)).text)).toEqual({ deviceName: mac });
  });

  it("404 for unknown or malformed ids, 409 for a taken target, 400 naming a target without a config", async () => {
    for (const id of ["2", "0", "01", "abc", "1234567890"]) {
      await expectError(await get(`/api/rollouts/${id}`), 404, "RECORD_NOT_FOUND");
      await expectError(await post(`/api/rollouts/${id}/pause`), 404, "RECORD_NOT_FOUND");
    }
    expect((await post("/api/rollouts", body(targets.slice(0, 2)))).status).toBe(201);
    const taken = await expectError(await post("/api/rollouts", body([targets[1]])), 409, "INVALID_OPERATION");
    expect(taken.details).toMatchObject({ mac_address: targets[1], rollout_id: "1" });
    const missing = await expectError(
      await post("/api/rollouts", body(["0a-0b-0c-0d-0e-0f"])),
      400,
      "VALIDATION_FAILED",
    );
    expect(missing.details).toMatchObject({ mac_address: "0a-0b-0c-0d-0e-0f" });
  });

  it("bad bodies: 400 naming the field, not JSON, wrong type, and 413 over the limit", async () => {
    const bad = await expectError(
      await post("/api/rollouts", body(targets, { waves: [50, 40] })),
      400,
      "VALIDATION_FAILED",
    );
    expect(bad.details.field).toMatch(/^waves/);
    await expectError(await post("/api/rollouts", "{not json"), 400, "VALIDATION_FAILED");
    await expectError(
      await post("/api/rollouts", body(targets), { "Content-Type": "text/plain" }),
      400,
      "VALIDATION_FAILED",
    );
    // A number a double cannot hold would reach every config altered (1e400 → null): refused, nothing created.
    for (const number of ["1e400", "12345678901234567890"]) {
      const text = JSON.stringify(body(targets, { patch: { limit: 0 } })).replace('"limit":0', `"limit":${number}`);
      const inexact = await expectError(await post("/api/rollouts", text), 400, "VALIDATION_FAILED");
      expect(inexact.details.field).toBe("patch");
    }
    const huge = JSON.stringify(body(targets, { name: "x".repeat(3 * 1024 * 1024) }));
    await expectError(await post("/api/rollouts", huge), 413, "PAYLOAD_TOO_LARGE");
    expect((await get("/api/rollouts")).status).toBe(200);
    expect(await (await get("/api/rollouts")).json()).toEqual({ rollouts: [], count: 0 });
  });

  it("is admin scope: 401 without the token", async () => {
    await expectError(await t.app.request("/api/rollouts"), 401, "UNAUTHORIZED");
    await expectError(
      await t.app.request("/api/rollouts", { method: "POST", body: JSON.stringify(body(targets)) }),
      401,
      "UNAUTHORIZED",
    );
  });

  it("metrics: iot_rollouts{state} at scrape, device outcomes counted", async () => {
    expect((await post("/api/rollouts", body(targets))).status).toBe(201);
    await post("/api/rollouts/1/pause");
    const text = await (await t.app.request("/metrics")).text();
    expect(metricValue(text, "iot_rollouts", { state: "paused" })).toBe(1);
    expect(metricValue(text, "iot_rollouts", { state: "running" })).toBe(0);
    expect(metricValue(text, "iot_rollout_device_outcomes_total", { outcome: "released" })).toBe(2);
  });
});
