/**
 * How the webhook sink fails and recovers, against a real HTTP receiver on loopback told to
 * answer 5xx, stall, redirect or be gone: retries under one delivery id, readiness, the
 * bounded queue, the attempt limit, timeouts, and close() during a back-off. Nothing is
 * mocked; a clock is injected only to see a fresh timestamp per attempt.
 */
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { createSinkMetrics } from "../src/plugins/metrics/sink-metrics.js";
import { metricValue } from "./support/http.js";
import { freePort } from "./support/mosquitto.js";
import { waitUntil } from "./support/wait.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";
import { FAST_RETRY, filenames, note, outcome, SECRET, webhookSink } from "./support/webhook-sink.js";

describe("webhook sink failures", () => {
  let receiver: WebhookReceiver;
  beforeEach(async () => {
    receiver = await startWebhookReceiver({ secret: SECRET });
  });
  afterEach(async () => {
    await receiver.close();
  });

  it("retries 500, 500, 500 then delivers once on 200: four requests, one delivery id, one success counted", async () => {
    receiver.answer(500, 500, 500);
    const registry = new Registry();
    const logger = createMemoryLogger();
    let clock = Date.now();
    const sink = createSinkMetrics(registry).wrap(
      // A clock a second further on each attempt shows each attempt signs its own timestamp.
      webhookSink(receiver.url, { logger, retry: FAST_RETRY, now: () => (clock += 1000) }),
    );
    try {
      await sink.publish(note(1));
      expect(receiver.requests.map((r) => r.status)).toEqual([500, 500, 500, 200]);
      expect(new Set(receiver.requests.map((r) => r.headers["x-iot-delivery"])).size).toBe(1);
      const stamps = receiver.requests.map((r) => r.signature.t ?? 0);
      expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
      expect(new Set(stamps).size).toBe(4);
      expect(receiver.requests.every((r) => r.signature.valid)).toBe(true);
      const text = await registry.metrics();
      const published = (result: string) =>
        metricValue(text, "iot_notifications_published_total", { sink: "webhook", outcome: result });
      expect(published("success")).toBe(1);
      expect(published("failure")).toBe(0);
      expect(sink.status()).toEqual({ ready: true, queueDepth: 0 });
      // Once per outage: one warning with the status, one "restored"; the other failures at debug.
      expect(logger.entries.filter((e) => e.level === "warn")).toEqual([
        expect.objectContaining({ reason: "HTTP 500", url: receiver.url }),
      ]);
      expect(logger.entries.filter((e) => e.level === "info")).toEqual([
        expect.objectContaining({ msg: "webhook delivery restored", failed_attempts: 3 }),
      ]);
    } finally {
      await sink.close();
    }
  });

  it("is not ready while the receiver fails, and ready again after a success", async () => {
    receiver.refuse(503);
    const sink = webhookSink(receiver.url, { retry: FAST_RETRY });
    try {
      expect(sink.status().ready).toBe(true);
      const publish = sink.publish(note(1));
      await waitUntil("a failed attempt", () => !sink.status().ready);
      expect(sink.status().queueDepth).toBe(1);
      receiver.refuse(200);
      await publish;
      expect(sink.status()).toEqual({ ready: true, queueDepth: 0 });
    } finally {
      await sink.close();
    }
  });

  it("drops exactly the oldest past WEBHOOK_QUEUE_LIMIT (the one in flight included), counted as dropped", async () => {
    const resume = receiver.stall();
    const registry = new Registry();
    const sink = createSinkMetrics(registry).wrap(webhookSink(receiver.url, { queueLimit: 3 }));
    try {
      const outcomes = Array.from({ length: 5 }, (_, i) => outcome(sink.publish(note(i))));
      expect(sink.status().queueDepth).toBe(3);
      await resume();
      expect(await Promise.all(outcomes)).toEqual([
        "SINK_DROPPED",
        "SINK_DROPPED",
        "delivered",
        "delivered",
        "delivered",
      ]);
      expect(filenames(receiver)).toEqual(["n-2.json", "n-3.json", "n-4.json"]);
      const text = await registry.metrics();
      expect(metricValue(text, "iot_notifications_published_total", { sink: "webhook", outcome: "dropped" })).toBe(2);
      expect(metricValue(text, "iot_notifications_published_total", { sink: "webhook", outcome: "success" })).toBe(3);
    } finally {
      await sink.close();
    }
  });

  it("gives up after WEBHOOK_MAX_ATTEMPTS with SINK_REJECTED naming the last status, then goes on", async () => {
    receiver.refuse(503);
    const sink = webhookSink(receiver.url, { maxAttempts: 3, retry: FAST_RETRY });
    try {
      const error = await sink.publish(note(1)).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "SINK_REJECTED", message: expect.stringMatching(/3 times.*HTTP 503/) });
      expect(receiver.requests.map((r) => r.status)).toEqual([503, 503, 503]);
      expect(new Set(receiver.requests.map((r) => r.headers["x-iot-delivery"])).size).toBe(1);
      receiver.refuse(200);
      await expect(sink.publish(note(2))).resolves.toBeUndefined();
      expect(filenames(receiver)).toEqual(["n-2.json"]);
    } finally {
      await sink.close();
    }
  });

  it("counts a receiver that does not answer in time as a failure, and retries", async () => {
    receiver.answer("stall");
    const logger = createMemoryLogger();
    const sink = webhookSink(receiver.url, { logger, timeoutMs: 1000, retry: FAST_RETRY });
    try {
      await sink.publish(note(1));
      const [first, ...retries] = receiver.requests;
      // The held request was never answered; a retry was (a loaded machine may need more than one).
      expect(first?.status).toBeUndefined();
      expect(retries.at(-1)?.status).toBe(200);
      expect(new Set(receiver.requests.map((r) => r.headers["x-iot-delivery"])).size).toBe(1);
      expect(logger.entries.find((e) => e.level === "warn")?.reason).toBe("no answer within 1000 ms");
    } finally {
      await sink.close();
    }
  });

  it("counts a redirect as a failure (following it would turn the POST into a GET), and retries", async () => {
    receiver.answer(302);
    const sink = webhookSink(receiver.url, { retry: FAST_RETRY });
    try {
      await sink.publish(note(1));
      expect(receiver.requests.map((r) => [r.method, r.path, r.status])).toEqual([
        ["POST", "/hook", 302],
        ["POST", "/hook", 200],
      ]);
    } finally {
      await sink.close();
    }
  });

  it("counts a refused connection as a failure, naming the error", async () => {
    const closedPort = await freePort();
    const logger = createMemoryLogger();
    const sink = webhookSink(`http://127.0.0.1:${closedPort}/hook`, { logger, maxAttempts: 2, retry: FAST_RETRY });
    try {
      await expect(sink.publish(note(1))).rejects.toMatchObject({
        code: "SINK_REJECTED",
        message: expect.stringContaining("ECONNREFUSED"),
      });
      expect(sink.status().ready).toBe(false);
    } finally {
      await sink.close();
    }
  });

  it("settles everything with SINK_CLOSED when closed during a back-off, without waiting it out", async () => {
    receiver.refuse(500);
    const sink = webhookSink(receiver.url, { retry: { minMs: 600_000, maxMs: 600_000 } });
    const outcomes = [1, 2, 3].map((i) => outcome(sink.publish(note(i))));
    await waitUntil("the first failed attempt", () => !sink.status().ready);
    // The back-off is ten minutes: close() must cut it short, or this test times out.
    await sink.close();
    expect(await Promise.all(outcomes)).toEqual(["SINK_CLOSED", "SINK_CLOSED", "SINK_CLOSED"]);
    expect(sink.status()).toEqual({ ready: false, queueDepth: 0 });
    expect(receiver.requests).toHaveLength(1);
  });
});
