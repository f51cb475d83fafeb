/**
 * A Worker that cannot boot, under workerd (`wrangler dev --local`, as `npm run dev:worker`
 * runs it): it has no process to stop, so it logs why once and answers every request 503,
 * health with the reason, its code and the variable, every other route in the API's error
 * shape with SERVER_MISCONFIGURED (issue 17.4). The same answers without workerd, from each
 * kind of boot error, are in test/worker-unbooted.test.ts.
 */
import { describe, expect, it } from "vitest";
import { testKeys } from "./support/keys.js";
import { waitUntil } from "./support/wait.js";
import { startWorkerDev, type WorkerDev } from "./support/worker-dev.js";

const keys = testKeys();

describe("Worker boot failures: health 503 with the reason, every other route 503 SERVER_MISCONFIGURED", () => {
  /** Asks health and two other routes, checks the answers and the one log line, and returns the health body. */
  const expectUnbooted = async (worker: WorkerDev, expected: { code: string; variable: string; reason: string }) => {
    const health = await worker.fetch("/api/health", { headers: { "X-Request-Id": "boot-check-0" } });
    expect(health.status).toBe(503);
    expect(health.headers.get("x-request-id")).toBe("boot-check-0");
    const body = (await health.json()) as Record<string, unknown>;
    expect(body).toEqual({
      status: "unhealthy",
      reason: expect.stringContaining(expected.reason),
      code: expected.code,
      variable: expected.variable,
      version: expect.any(String),
    });
    for (const [i, path] of ["/api/configs", "/files/assets/x.bin", "/metrics"].entries()) {
      const id = `boot-check-${i + 1}`;
      const res = await worker.fetch(path, { headers: { "X-Request-Id": id } });
      expect(res.status).toBe(503);
      expect(res.headers.get("x-request-id")).toBe(id);
      expect(await res.json()).toEqual({
        error: `The server is misconfigured and cannot serve requests: ${body.reason}`,
        details: { variable: expected.variable, reason_code: expected.code },
        code: "SERVER_MISCONFIGURED",
        status: 503,
        correlationId: id,
      });
    }
    await waitUntil("the boot failure to be logged", () => worker.lines().some((l) => l.level === "error"));
    const failures = worker.lines().filter((l) => l.level === "error");
    expect(failures, "the log says why, once").toHaveLength(1);
    expect(failures[0]).toMatchObject({ code: expected.code, variable: expected.variable });
    expect(failures[0]?.msg).toBe(`boot failed, answering every request with 503: ${body.reason}`);
    return body;
  };

  it.each(["mqtt", "mqtts"])("refuses %s:// at boot: Workers have no raw TCP (UNSUPPORTED_SETTING)", async (scheme) => {
    const refused = await startWorkerDev({
      SIGNING_KEY: keys.pkcs1,
      MQTT_URL: `${scheme}://user:hunter2@127.0.0.1:1883`,
    });
    try {
      await expectUnbooted(refused, {
        code: "UNSUPPORTED_SETTING",
        variable: "MQTT_URL",
        reason: `Invalid setting MQTT_URL: ${scheme}:// needs raw TCP sockets, which Cloudflare Workers cannot keep open; use ws:// or wss://`,
      });
      expect(refused.output()).not.toContain("hunter2");
    } finally {
      await refused.cleanup();
    }
  });

  it("refuses to start with an anonymous admin API unless ALLOW_ANONYMOUS_ADMIN=true (MISSING_SETTING)", async () => {
    const anonymous = await startWorkerDev({ SIGNING_KEY: keys.pkcs1, ALLOW_ANONYMOUS_ADMIN: "false" });
    try {
      await expectUnbooted(anonymous, {
        code: "MISSING_SETTING",
        variable: "API_TOKEN_HASHES",
        reason: "ALLOW_ANONYMOUS_ADMIN=true",
      });
    } finally {
      await anonymous.cleanup();
    }
  });

  it("refuses to start without SIGNING_KEY, saying how to set it (MISSING_SETTING)", async () => {
    const keyless = await startWorkerDev({});
    try {
      const body = await expectUnbooted(keyless, {
        code: "MISSING_SETTING",
        variable: "SIGNING_KEY",
        reason: "Invalid setting SIGNING_KEY: missing",
      });
      expect(body.reason).toContain("wrangler secret put SIGNING_KEY");
    } finally {
      await keyless.cleanup();
    }
  });

  it("refuses a bad setting, and a signing key that is not one, naming the variable (INVALID_SETTING)", async () => {
    const bad = await startWorkerDev({ SIGNING_KEY: keys.pkcs1, MAX_UPLOAD_BYTES: "lots" });
    const badKey = await startWorkerDev({
      SIGNING_KEY: "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----",
    });
    try {
      await expectUnbooted(bad, {
        code: "INVALID_SETTING",
        variable: "MAX_UPLOAD_BYTES",
        reason: "Invalid setting MAX_UPLOAD_BYTES: ",
      });
      const body = await expectUnbooted(badKey, {
        code: "INVALID_SETTING",
        variable: "SIGNING_KEY",
        reason: "Invalid setting SIGNING_KEY: ",
      });
      expect(JSON.stringify(body)).not.toContain("not a key");
    } finally {
      await bad.cleanup();
      await badKey.cleanup();
    }
  });
});
