/**
 * The webhook sink inside workerd (the Workers runtime, vitest.workers.config.ts), delivering
 * to a real receiver that runs in Node (started by test/support/webhook-receiver-setup.ts,
 * its address passed in with `inject`): Web Crypto signing, fetch, AbortController timeouts
 * and timers as Workers provide them. The receiver checks each signature with node:crypto.
 * It runs in the workerd project only (vitest.config.ts excludes it from the node project).
 */
import { describe, expect, inject, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { TOPICS } from "../src/core/sinks/contract.js";
import { createWebhookSink, type WebhookSinkOptions } from "../src/plugins/sinks/webhook.js";
import { waitUntil } from "./support/wait.js";
import type { ReceivedRequest } from "./support/webhook-receiver.js";

const receiver = inject("webhookReceiver");

/** Each test posts to a path of its own, so it reads back only its own requests. */
const hookPath = () => `/hook/${crypto.randomUUID()}`;

const sinkFor = (path: string, overrides: Partial<WebhookSinkOptions> = {}) =>
  createWebhookSink({
    url: new URL(path, receiver.origin),
    secret: receiver.secret,
    timeoutMs: 5000,
    queueLimit: 100,
    maxAttempts: 0,
    logger: createMemoryLogger(),
    retry: { minMs: 10, maxMs: 50 },
    ...overrides,
  });

async function requestsTo(path: string): Promise<ReceivedRequest[]> {
  const all = (await (await fetch(`${receiver.origin}/__requests`)).json()) as ReceivedRequest[];
  return all.filter((r) => r.path === path);
}

const answerNext = async (...statuses: number[]) => {
  const response = await fetch(`${receiver.origin}/__answers`, { method: "POST", body: JSON.stringify(statuses) });
  expect(response.status).toBe(204);
};

describe("webhook sink inside workerd", () => {
  it("is running inside workerd (not in Node by mistake)", () => {
    expect(navigator.userAgent).toBe("Cloudflare-Workers");
  });

  it("delivers a signed notification to a receiver outside workerd", async () => {
    const path = hookPath();
    const sink = sinkFor(path);
    try {
      await sink.publish({ topic: TOPICS.assets, payload: { filename: "fw-1.0.bin" }, metadata: { size: 3 } });
      const [request, ...more] = await requestsTo(path);
      expect(more).toEqual([]);
      expect(request?.body).toBe(
        '{"topic":"iotsupport/updates/assets","payload":{"filename":"fw-1.0.bin"},"metadata":{"size":3}}',
      );
      expect(request?.signature).toMatchObject({ valid: true, fresh: true });
      expect(request?.headers["content-type"]).toBe("application/json");
      expect(request?.status).toBe(200);
    } finally {
      await sink.close();
    }
  });

  it("retries a failed attempt with the same delivery id and a fresh signature", async () => {
    const path = hookPath();
    await answerNext(500, 503);
    const sink = sinkFor(path);
    try {
      await sink.publish({ topic: TOPICS.configs, payload: { filename: "aa-bb-cc-dd-ee-ff.json" } });
      const requests = await requestsTo(path);
      expect(requests.map((r) => r.status)).toEqual([500, 503, 200]);
      expect(new Set(requests.map((r) => r.headers["x-iot-delivery"])).size).toBe(1);
      expect(requests.every((r) => r.signature.valid)).toBe(true);
      expect(sink.status()).toEqual({ ready: true, queueDepth: 0 });
    } finally {
      await sink.close();
    }
  });

  it("sends URL credentials as a Basic header (workerd's fetch would silently drop them)", async () => {
    const path = hookPath();
    const url = new URL(path, receiver.origin);
    url.username = "fleet";
    url.password = "p%40ss";
    const sink = sinkFor(path, { url });
    try {
      await sink.publish({ topic: TOPICS.configs, payload: { filename: "aa-bb-cc-dd-ee-ff.json" } });
      const [request] = await requestsTo(path);
      expect(request?.headers.authorization).toBe(`Basic ${btoa("fleet:p@ss")}`);
    } finally {
      await sink.close();
    }
  });

  it("settles everything with SINK_CLOSED when closed during a back-off", async () => {
    const path = hookPath();
    await answerNext(500);
    const sink = sinkFor(path, { retry: { minMs: 600_000, maxMs: 600_000 } });
    const outcomes = [1, 2].map((i) =>
      sink.publish({ topic: TOPICS.configs, payload: { filename: `n-${i}.json` } }).then(
        () => "delivered",
        (error: { code?: string }) => error.code,
      ),
    );
    await waitUntil("the first failed attempt", () => !sink.status().ready);
    await sink.close();
    expect(await Promise.all(outcomes)).toEqual(["SINK_CLOSED", "SINK_CLOSED"]);
    expect(sink.status()).toEqual({ ready: false, queueDepth: 0 });
  });
});
