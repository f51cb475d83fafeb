/**
 * What a Worker whose boot failed answers, built from the errors a boot really raises
 * (settings, sink registry, signing key), without workerd: the same answers under
 * `wrangler dev` are in test/contract-worker.test.ts ("Worker boot failures").
 */
import { describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { loadSettings } from "../src/core/settings.js";
import { SinkRegistry } from "../src/core/sinks/registry.js";
import { importVerificationKey } from "../src/features/assets/signing-key.js";
import { SINK_PLUGINS } from "../src/plugins/sinks/index.js";
import { BootError } from "../src/runtimes/boot-failure.js";
import { bootFailureOf, unbootedResponse } from "../src/runtimes/worker-unbooted.js";

const thrown = async (step: () => unknown) => {
  try {
    await step();
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
};

const answer = async (path: string, error: unknown, init: RequestInit = {}) => {
  const res = unbootedResponse(new Request(`http://worker.example${path}`, init), bootFailureOf(error), "9.9.9");
  return { status: res.status, requestId: res.headers.get("x-request-id"), body: await res.json() };
};

describe("a Worker that could not boot", () => {
  it("answers health 503 with the reason, its code and the variable; other routes 503 SERVER_MISCONFIGURED", async () => {
    const error = await thrown(() => loadSettings({ MAX_UPLOAD_BYTES: "lots" }));
    const health = await answer("/api/health", error, { headers: { "X-Request-Id": "req-1" } });
    expect(health.status).toBe(503);
    expect(health.requestId).toBe("req-1");
    expect(health.body).toEqual({
      status: "unhealthy",
      reason: expect.stringMatching(/^Invalid setting MAX_UPLOAD_BYTES: /),
      code: "INVALID_SETTING",
      variable: "MAX_UPLOAD_BYTES",
      version: "9.9.9",
    });
    const other = await answer("/api/configs", error, { method: "PUT", headers: { "X-Request-Id": "req-2" } });
    expect(other.status).toBe(503);
    expect(other.body).toEqual({
      error: `The server is misconfigured and cannot serve requests: ${health.body.reason}`,
      details: { variable: "MAX_UPLOAD_BYTES", reason_code: "INVALID_SETTING" },
      code: "SERVER_MISCONFIGURED",
      status: 503,
      correlationId: "req-2",
    });
    // Health answers only GET and HEAD; another method there is a route like any other.
    expect((await answer("/api/health", error, { method: "POST" })).body.code).toBe("SERVER_MISCONFIGURED");
  });

  it("tells what the runtime cannot do (mqtt:// on Workers) from a bad value, and keeps credentials out", async () => {
    const unsupported = await thrown(() =>
      new SinkRegistry(SINK_PLUGINS).create({
        url: new URL("mqtt://user:hunter2@broker.example"),
        urlVariable: "MQTT_URL",
        env: {},
        logger: createMemoryLogger(),
        runtime: { name: "Cloudflare Workers", capabilities: new Set() },
      }),
    );
    const health = await answer("/api/health", unsupported);
    expect(health.body).toMatchObject({ code: "UNSUPPORTED_SETTING", variable: "MQTT_URL" });
    expect(JSON.stringify(health.body)).not.toContain("hunter2");
    const badKey = await thrown(() => importVerificationKey("not a key"));
    expect((await answer("/api/health", badKey)).body).toMatchObject({ code: "INVALID_SETTING" });
    const binding = new BootError("R2 bucket binding BUCKET is missing", "BUCKET", "MISSING_BINDING");
    expect((await answer("/files/assets/x.bin", binding)).body.details).toEqual({
      variable: "BUCKET",
      reason_code: "MISSING_BINDING",
    });
  });

  it("shows nothing of an unexpected error: BOOT_FAILED, no variable, the log has the details", async () => {
    const error = new Error("connect ECONNREFUSED 10.0.0.7:443 (token=abc)");
    const health = await answer("/api/health", error);
    expect(health.status).toBe(503);
    expect(health.body).toEqual({
      status: "unhealthy",
      reason: "the server could not start; its log says why",
      code: "BOOT_FAILED",
      version: "9.9.9",
    });
    const other = await answer("/metrics", error);
    expect(other.body).toMatchObject({ code: "SERVER_MISCONFIGURED", details: { reason_code: "BOOT_FAILED" } });
    expect(JSON.stringify([health.body, other.body])).not.toMatch(/10\.0\.0\.7|token/);
  });
});
