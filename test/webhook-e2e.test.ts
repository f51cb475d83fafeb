/**
 * The webhook sink end to end, selected by NOTIFY_URL in a real server: on Node, a
 * receiver that fails three times and then accepts gets the notification exactly once
 * (one delivery id for every attempt) and the counters say so; on Workers under
 * `wrangler dev`, a save reaches a local receiver with a valid HMAC signature. The
 * receiver checks signatures with node:crypto, independently of the sink's code.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricValue } from "./support/http.js";
import { testKeys } from "./support/keys.js";
import { type SpawnedServer, spawnServer } from "./support/server.js";
import { waitUntil } from "./support/wait.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";
import { startWorkerDev, type WorkerDev } from "./support/worker-dev.js";

const SECRET = "test-webhook-secret-0123456789";
const MAC = "aa-bb-cc-dd-ee-01";

const save = (base: string, mac: string) =>
  fetch(`${base}/api/configs/${mac}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ content: { deviceName: mac } }),
  });

describe("webhook sink on Node: a receiver that answers 500 three times, then 200", () => {
  let receiver: WebhookReceiver;
  let server: SpawnedServer;
  beforeAll(async () => {
    receiver = await startWebhookReceiver({ secret: SECRET });
    server = await spawnServer({ NOTIFY_URL: receiver.url, WEBHOOK_SECRET: SECRET });
  });
  afterAll(async () => {
    await server?.cleanup();
    await receiver?.close();
  });

  it("gets the notification once, after four signed attempts with one delivery id; counted as one success", async () => {
    receiver.answer(500, 500, 500);
    const response = await save(server.url, MAC);
    expect(response.status).toBe(200);
    const stored = (await (await fetch(`${server.url}/files/configs/${MAC}.json`)).headers.get("etag")) as string;
    const attempts = await receiver.waitForRequests(4);
    expect(attempts.map((r) => r.status)).toEqual([500, 500, 500, 200]);
    for (const attempt of attempts) {
      expect(attempt.signature).toMatchObject({ valid: true, fresh: true });
      expect(attempt.headers["x-iot-delivery"]).toBe(attempts[0]?.headers["x-iot-delivery"]);
      expect(JSON.parse(attempt.body)).toEqual({
        topic: "iotsupport/updates/configs",
        payload: { filename: `${MAC}.json` },
        metadata: { sha256: stored.slice(1, -1), size: expect.any(Number), etag: stored },
      });
    }
    expect(receiver.delivered()).toHaveLength(1);

    const metrics = await waitUntil("the success to be counted", async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const labels = { sink: "webhook", topic: "iotsupport/updates/configs" };
      return metricValue(text, "iot_notifications_published_total", { ...labels, outcome: "success" }) === 1
        ? text
        : "";
    });
    for (const outcome of ["failure", "dropped"]) {
      expect(
        metricValue(metrics, "iot_notifications_published_total", {
          sink: "webhook",
          topic: "iotsupport/updates/configs",
          outcome,
        }),
      ).toBe(0);
    }
    // The outage was reported once and its end once, not per attempt.
    const messages = server.lines().map((l) => l.msg);
    expect(messages.filter((m) => m === "webhook delivery failed; retrying with back-off")).toHaveLength(1);
    expect(messages.filter((m) => m === "webhook delivery restored")).toHaveLength(1);
    expect(server.output()).not.toContain(SECRET);
  });
});

describe("webhook sink on Workers (wrangler dev --local)", () => {
  let receiver: WebhookReceiver;
  let worker: WorkerDev;
  beforeAll(async () => {
    receiver = await startWebhookReceiver({ secret: SECRET });
    worker = await startWorkerDev({ SIGNING_KEY: testKeys().pkcs1, NOTIFY_URL: receiver.url, WEBHOOK_SECRET: SECRET });
  }, 120_000);
  afterAll(async () => {
    await worker?.cleanup();
    await receiver?.close();
  });

  it("delivers a save to the receiver with a valid HMAC signature", async () => {
    const response = await save(worker.url, MAC);
    expect(response.status).toBe(200);
    const [request] = await receiver.waitForRequests(1);
    expect(request?.signature).toMatchObject({ valid: true, fresh: true });
    expect(request?.headers["user-agent"]).toMatch(/^iot-support-server\//);
    expect(JSON.parse(request?.body ?? "{}")).toMatchObject({
      topic: "iotsupport/updates/configs",
      payload: { filename: `${MAC}.json` },
    });
    expect(worker.output()).not.toContain(SECRET);
  });
});
