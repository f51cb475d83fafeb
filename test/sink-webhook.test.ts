/**
 * The webhook sink against a real HTTP receiver on loopback (test/support/webhook-receiver.ts,
 * which checks the signature with node:crypto, independently of the sink): conformance,
 * the exact request, signature and freshness, retries, credentials, overflow, attempts,
 * timeouts, close, and the plugin's settings. Nothing is mocked; the only things injected
 * are a clock (to see a fresh timestamp per attempt) and the back-off's wait (to read
 * the schedule without waiting it out).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { redactSettingValues, SettingsError } from "../src/core/setting-spec.js";
import { type Notification, type NotificationSink, TOPICS } from "../src/core/sinks/contract.js";
import { defineSink } from "../src/core/sinks/define-sink.js";
import { type RuntimeInfo, SinkConfigError, type SinkPlugin } from "../src/core/sinks/plugin.js";
import { SinkRegistry } from "../src/core/sinks/registry.js";
import { createSinkMetrics } from "../src/plugins/metrics/sink-metrics.js";
import { consoleSinkPlugin } from "../src/plugins/sinks/console.js";
import { createWebhookSink, type WebhookSinkOptions, webhookSinkPlugin } from "../src/plugins/sinks/webhook.js";
import { WEBHOOK_SETTINGS } from "../src/plugins/sinks/webhook-settings.js";
import { metricValue } from "./support/http.js";
import { freePort } from "./support/mosquitto.js";
import { NODE_RUNTIME, type SinkUnderTest, testSink } from "./support/sink-conformance.js";
import { startTcpProxy } from "./support/tcp-proxy.js";
import { waitUntil } from "./support/wait.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";

const SECRET = "webhook-test-secret-0123456789";
const PLUGIN = webhookSinkPlugin as unknown as SinkPlugin;
/** Short back-off, so retry tests take milliseconds; the real schedule is checked with an injected wait. */
const FAST_RETRY = { minMs: 10, maxMs: 50 };

const note = (i: number): Notification => ({ topic: TOPICS.configs, payload: { filename: `n-${i}.json` } });
const filenames = (receiver: WebhookReceiver) =>
  receiver.delivered().map((n) => (n.payload as { filename: string }).filename);

function webhookSink(url: string, overrides: Partial<WebhookSinkOptions> = {}): NotificationSink {
  return createWebhookSink({
    url: new URL(url),
    secret: SECRET,
    timeoutMs: 5000,
    queueLimit: 1000,
    maxAttempts: 0,
    logger: createMemoryLogger(),
    ...overrides,
  });
}

const viaRegistry = async (url: string, env: Record<string, string>, runtime: RuntimeInfo = NODE_RUNTIME) =>
  (
    await new SinkRegistry([PLUGIN]).create({
      url: new URL(url),
      urlVariable: "NOTIFY_URL",
      env,
      logger: createMemoryLogger(),
      runtime,
    })
  ).sink;

const outcome = (publish: Promise<void>) =>
  publish.then(
    () => "delivered",
    (error: { code?: string }) => error.code ?? String(error),
  );

function webhookUnderTest(wrap: boolean) {
  const wrapped = (sink: NotificationSink) => (wrap ? createSinkMetrics(new Registry()).wrap(sink) : sink);
  return async (): Promise<SinkUnderTest> => {
    const receiver = await startWebhookReceiver({ secret: SECRET });
    // The sink reaches the receiver through a proxy the kit can cut; the receiver itself stalls.
    const link = await startTcpProxy(Number(new URL(receiver.origin).port), "http");
    const viaLink = (queueLimit: number) => wrapped(webhookSink(`${link.url}/hook`, { queueLimit }));
    return {
      sink: viaLink(1000),
      received: async () => receiver.delivered().map(({ topic, payload }) => ({ topic, payload })),
      async refusing() {
        const refuser = await startWebhookReceiver({ secret: SECRET });
        refuser.refuse(403);
        const sink = await viaRegistry(refuser.url, { WEBHOOK_SECRET: SECRET, WEBHOOK_MAX_ATTEMPTS: "2" });
        return { sink: wrapped(sink), code: "SINK_REJECTED", cleanup: () => refuser.close() };
      },
      async stall() {
        const from = receiver.requests.length;
        const resume = receiver.stall();
        const held = () => receiver.requests.slice(from).filter((r) => r.status === undefined).length;
        return { arrived: async () => held(), resume };
      },
      link: { drop: async () => link.setBlocked(true), restore: async () => link.setBlocked(false) },
      bounded: async (limit) => ({ sink: viaLink(limit), cleanup: async () => {} }),
      registry: {
        plugin: PLUGIN,
        url: receiver.url,
        env: { WEBHOOK_SECRET: SECRET },
        observed: true,
        invalid: { env: {}, variable: "WEBHOOK_SECRET" },
      },
      cleanup: async () => {
        await link.close();
        await receiver.close();
      },
    };
  };
}

testSink({ name: "webhook", create: webhookUnderTest(false) });
testSink({ name: "webhook + metrics", create: webhookUnderTest(true) });

describe("webhook sink", () => {
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

  it("backs off 250 ms doubling to 30 s, and starts over after a success", async () => {
    const delays: number[] = [];
    receiver.answer(...Array<number>(9).fill(500));
    // random 0.5 is the middle of the jitter (0.8×–1.2×): the schedule itself.
    const sink = webhookSink(receiver.url, {
      random: () => 0.5,
      wait: async (ms) => {
        delays.push(ms);
      },
    });
    try {
      await sink.publish(note(1));
      expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
      receiver.answer(500);
      await sink.publish(note(2));
      expect(delays.slice(9)).toEqual([250]);
    } finally {
      await sink.close();
    }
  });

  it("keeps the jitter within 0.8× to 1.2× of the schedule", async () => {
    const delays: number[] = [];
    receiver.answer(500, 500);
    const randoms = [0, 0.999];
    const sink = webhookSink(receiver.url, {
      random: () => randoms.shift() ?? 0.5,
      wait: async (ms) => {
        delays.push(ms);
      },
    });
    try {
      await sink.publish(note(1));
      expect(delays).toEqual([200, 600]);
    } finally {
      await sink.close();
    }
  });
});

describe("webhook plugin", () => {
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error as Error,
    );

  it.each([
    [{ WEBHOOK_SECRET: "short" }, "WEBHOOK_SECRET", "must be at least 16 characters"],
    [{ WEBHOOK_SECRET: SECRET, WEBHOOK_TIMEOUT_MS: "50" }, "WEBHOOK_TIMEOUT_MS", "must be at least 100"],
    [{ WEBHOOK_SECRET: SECRET, WEBHOOK_QUEUE_LIMIT: "0" }, "WEBHOOK_QUEUE_LIMIT", "must be at least 1"],
    [{ WEBHOOK_SECRET: SECRET, WEBHOOK_MAX_ATTEMPTS: "two" }, "WEBHOOK_MAX_ATTEMPTS", "must be a whole number"],
  ])("refuses %j with one line naming %s", async (env, variable, problem) => {
    const error = await refusal(viaRegistry("https://hooks.example.com/iot", env));
    expect(error).toBeInstanceOf(SettingsError);
    expect(error?.message).toBe(`Invalid setting ${variable}: ${problem}`);
  });

  it("requires WEBHOOK_SECRET only when a webhook URL is chosen, but validates it whichever sink is", async () => {
    const registry = new SinkRegistry([consoleSinkPlugin, PLUGIN]);
    const create = (url: string, env: Record<string, string>) =>
      registry.create({
        url: new URL(url),
        urlVariable: "NOTIFY_URL",
        env,
        logger: createMemoryLogger(),
        runtime: NODE_RUNTIME,
      });
    const missing = await refusal(create("https://hooks.example.com/iot", {}));
    expect(missing).toBeInstanceOf(SinkConfigError);
    expect(missing?.message).toMatch(/^Invalid setting WEBHOOK_SECRET: required with an http\(s\):\/\/ NOTIFY_URL/);
    const { sink } = await create("console:", {});
    await sink.close();
    expect(await refusal(create("console:", { WEBHOOK_SECRET: "short" }))).toBeInstanceOf(SettingsError);
  });

  it("redacts WEBHOOK_SECRET wherever settings are logged, and never repeats it in an error", async () => {
    expect(redactSettingValues(WEBHOOK_SETTINGS, { WEBHOOK_SECRET: SECRET, WEBHOOK_QUEUE_LIMIT: 5 })).toEqual({
      WEBHOOK_SECRET: "[redacted]",
      WEBHOOK_QUEUE_LIMIT: 5,
    });
    const error = await refusal(viaRegistry("https://hooks.example.com/iot", { WEBHOOK_SECRET: "tooshortsecret" }));
    expect(error?.message).not.toContain("tooshortsecret");
  });

  it("applies the WEBHOOK_* settings it is given", async () => {
    const closedPort = await freePort();
    const sink = await viaRegistry(`http://127.0.0.1:${closedPort}/hook`, {
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_MAX_ATTEMPTS: "1",
      WEBHOOK_QUEUE_LIMIT: "1",
    });
    try {
      const first = outcome(sink.publish(note(1)));
      const second = outcome(sink.publish(note(2)));
      // Queue limit 1: the first is pushed out by the second; one attempt, then rejected.
      expect(await Promise.all([first, second])).toEqual(["SINK_DROPPED", "SINK_REJECTED"]);
    } finally {
      await sink.close();
    }
  });

  it("runs per request where nothing may outlive a request (Workers), and delivers there", async () => {
    const receiver = await startWebhookReceiver({ secret: SECRET });
    const opened: string[] = [];
    // As Workers' adapter does, in short: each publish gets a sink of its own, closed once it settles.
    const workers: RuntimeInfo = {
      name: "Cloudflare Workers",
      capabilities: new Set(),
      perRequest: (name, open) => {
        opened.push(name);
        return defineSink({
          name,
          async deliver(notification) {
            const sink = await open();
            try {
              await sink.publish(notification);
            } finally {
              await sink.close();
            }
          },
        });
      },
    };
    try {
      const sink = await viaRegistry(receiver.url, { WEBHOOK_SECRET: SECRET }, workers);
      await sink.publish(note(1));
      await sink.close();
      expect(opened).toEqual(["webhook"]);
      expect(filenames(receiver)).toEqual(["n-1.json"]);
    } finally {
      await receiver.close();
    }
  });

  it("imports nothing from node: (it runs on Workers)", async () => {
    const dir = join(import.meta.dirname, "../src/plugins/sinks");
    for (const file of [
      "webhook.ts",
      "webhook-queue.ts",
      "webhook-request.ts",
      "webhook-settings.ts",
      "webhook-signature.ts",
    ]) {
      expect(await readFile(join(dir, file), "utf8"), file).not.toMatch(/from "node:/);
    }
  });
});
