/**
 * What the webhook sink sends, against a real HTTP receiver on loopback
 * (test/support/webhook-receiver.ts, which checks the signature with node:crypto,
 * independently of the sink): the exact request and headers, the signature and its
 * freshness, and credentials from the URL, which never reach a log.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { TOPICS } from "../src/core/sinks/contract.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";
import { FAST_RETRY, note, SECRET, webhookSink } from "./support/webhook-sink.js";

describe("webhook sink requests", () => {
  let receiver: WebhookReceiver;
  beforeEach(async () => {
    receiver = await startWebhookReceiver({ secret: SECRET });
  });
  afterEach(async () => {
    await receiver.close();
  });

  it("POSTs exactly the JSON body, with the documented headers", async () => {
    const sink = webhookSink(receiver.url);
    try {
      const etag = `"${"a".repeat(64)}"`;
      await sink.publish({
        topic: TOPICS.configs,
        payload: { filename: "aa-bb-cc-dd-ee-ff.json" },
        metadata: { sha256: "a".repeat(64), size: 12, etag },
      });
      await sink.publish({ topic: TOPICS.assets, payload: { filename: "fw-1.0.bin" } });
      const [first, second] = receiver.requests;
      expect(first?.method).toBe("POST");
      expect(first?.path).toBe("/hook");
      expect(first?.body).toBe(
        `{"topic":"iotsupport/updates/configs","payload":{"filename":"aa-bb-cc-dd-ee-ff.json"},` +
          `"metadata":{"sha256":"${"a".repeat(64)}","size":12,"etag":${JSON.stringify(etag)}}}`,
      );
      expect(second?.body).toBe(
        '{"topic":"iotsupport/updates/assets","payload":{"filename":"fw-1.0.bin"},"metadata":{}}',
      );
      expect(first?.headers).toMatchObject({
        "content-type": "application/json",
        "user-agent": expect.stringMatching(/^iot-support-server\/\d+\.\d+\.\d+$/),
        "x-iot-signature": expect.stringMatching(/^t=\d+,v1=[0-9a-f]{64}$/),
        "x-iot-delivery": expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(first?.headers.authorization).toBeUndefined();
      // Each notification has its own delivery id.
      expect(second?.headers["x-iot-delivery"]).not.toBe(first?.headers["x-iot-delivery"]);
    } finally {
      await sink.close();
    }
  });

  it("signs t.body with HMAC-SHA256 under WEBHOOK_SECRET, with a fresh timestamp", async () => {
    const sink = webhookSink(receiver.url);
    try {
      await sink.publish(note(1));
      const [request] = receiver.requests;
      expect(request?.signature).toMatchObject({ valid: true, fresh: true });
      expect(Math.abs((request?.signature.t ?? 0) - Date.now() / 1000)).toBeLessThan(60);
    } finally {
      await sink.close();
    }
  });

  it("is refused by a receiver holding another secret, and by one seeing a stale timestamp", async () => {
    const other = await startWebhookReceiver({ secret: "another-secret-0123456789" });
    const wrongKey = webhookSink(other.url, { maxAttempts: 1 });
    const stale = webhookSink(receiver.url, { maxAttempts: 1, now: () => Date.now() - 3600_000 });
    try {
      await expect(wrongKey.publish(note(1))).rejects.toMatchObject({
        code: "SINK_REJECTED",
        message: expect.stringContaining("HTTP 401"),
      });
      expect(other.requests[0]?.signature.valid).toBe(false);
      await expect(stale.publish(note(2))).rejects.toMatchObject({ code: "SINK_REJECTED" });
      expect(receiver.requests[0]?.signature).toMatchObject({ valid: true, fresh: false });
    } finally {
      await wrongKey.close();
      await stale.close();
      await other.close();
    }
  });

  it("turns credentials in the URL into a Basic header, and never logs them or the secret", async () => {
    receiver.answer(500);
    const logger = createMemoryLogger();
    const url = new URL(receiver.url);
    url.username = "fleet";
    url.password = encodeURIComponent("p€ss:w/rd%");
    const sink = webhookSink(url.href, { logger, retry: FAST_RETRY });
    try {
      await sink.publish(note(1));
      const expected = `Basic ${Buffer.from("fleet:p€ss:w/rd%", "utf8").toString("base64")}`;
      expect(receiver.requests.map((r) => r.headers.authorization)).toEqual([expected, expected]);
      const logged = JSON.stringify(logger.entries);
      expect(logger.entries.length).toBeGreaterThan(0);
      expect(logged).toContain("redacted");
      for (const secret of ["fleet", url.password, "p€ss", SECRET]) expect(logged).not.toContain(secret);
    } finally {
      await sink.close();
    }
  });
});
