/**
 * The notifier under a burst of saves (issue 22, point 4): notifier → metrics decorator → MQTT
 * sink on a real broker. A burst waits in the sink's queue as plain records (NotificationSink.send
 * with a receipt), not as promises; what it delivers, in what order, and how it is counted and
 * flushed stay as they were. Also the path for sinks that only have `publish`, with and without
 * Workers' `track`.
 */
import { createHook } from "node:async_hooks";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { createNotifier } from "../src/core/notifier.js";
import { createSinkMetrics } from "../src/plugins/metrics/sink-metrics.js";
import { createConsoleSink } from "../src/plugins/sinks/console.js";
import { createMqttSink } from "../src/plugins/sinks/mqtt.js";
import type { MqttOptions } from "../src/plugins/sinks/mqtt-settings.js";
import { metricValue } from "./support/http.js";
import { mosquittoAvailable, startBroker, subscribe } from "./support/mosquitto.js";
import { startTcpProxy } from "./support/tcp-proxy.js";

const available = mosquittoAvailable();

const OPTIONS: MqttOptions = {
  protocolVersion: 5,
  queueLimit: 5000,
  keepaliveSeconds: 30,
  ackTimeoutMs: 5000,
  maxInflight: 20,
  tlsInsecure: false,
};

const mac = (i: number) =>
  `aa-bb-cc-dd-${Math.floor(i / 256)
    .toString(16)
    .padStart(2, "0")}-${(i % 256).toString(16).padStart(2, "0")}`;

/** Promises created while `work` runs synchronously (async_hooks sees every one, ours and libraries'). */
function promisesCreatedBy(work: () => void): number {
  let created = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === "PROMISE") created++;
    },
  });
  hook.enable();
  try {
    work();
  } finally {
    hook.disable();
  }
  return created;
}

/**
 * A broker with a subscriber on it, and the notifier → decorator → sink wired through a link that
 * starts cut: the burst waits in the sink's queue until `restore()`, and the subscriber misses nothing.
 */
async function cutOff(options: Partial<MqttOptions> = {}) {
  const broker = await startBroker();
  const link = await startTcpProxy(broker.tcpPort);
  link.setBlocked(true);
  const sub = await subscribe(broker.tcpUrl);
  const wired = wiring(link.url, options);
  return {
    ...wired,
    sub,
    restore: () => link.setBlocked(false),
    filenames: () => sub.messages.map((m) => (JSON.parse(m.payload) as { filename: string }).filename),
    async cleanup() {
      await wired.sink.close();
      await sub.close();
      await link.close();
      await broker.cleanup();
    },
  };
}

function wiring(url: string, options: Partial<MqttOptions> = {}) {
  const logger = createMemoryLogger();
  const registry = new Registry();
  const sink = createSinkMetrics(registry).wrap(
    createMqttSink({ url: new URL(url), context: { logger, options: { ...OPTIONS, ...options } } }),
  );
  return { logger, registry, sink, notifier: createNotifier({ sink, logger }) };
}

describe.skipIf(!available)("the notifier under a burst, through the metrics decorator into the MQTT sink", () => {
  it("queues a burst of 2,000 without a promise each, then delivers every one in order, counted once", async () => {
    const t = await cutOff();
    try {
      const created = promisesCreatedBy(() => {
        for (let i = 0; i < 2000; i++) t.notifier.configSaved(mac(i));
      });
      // Before: three per notification (the sink's, the decorator's and the notifier's reactions).
      expect(created).toBeLessThan(20);
      expect(t.notifier.pending()).toBe(2000);
      expect(t.sink.status().queueDepth).toBe(2000);
      t.restore();
      expect(await t.notifier.flush(60_000)).toEqual({
        success: 2000,
        failure: 0,
        dropped: 0,
        skipped: 0,
        abandoned: 0,
      });
      await t.sub.waitFor(2000);
      expect(t.filenames()).toEqual(Array.from({ length: 2000 }, (_, i) => `${mac(i)}.json`));
      const text = await t.registry.metrics();
      expect(metricValue(text, "iot_notifications_published_total", { sink: "mqtt", outcome: "success" })).toBe(2000);
      expect(metricValue(text, "iot_notification_ack_duration_seconds_count", { sink: "mqtt" })).toBe(2000);
      expect(t.notifier.pending()).toBe(0);
    } finally {
      await t.cleanup();
    }
  });

  it("drops the oldest of a burst past the queue limit: each counted dropped and logged once, the rest delivered", async () => {
    const t = await cutOff({ queueLimit: 50 });
    try {
      for (let i = 0; i < 80; i++) t.notifier.configSaved(mac(i));
      t.restore();
      expect(await t.notifier.flush(30_000)).toMatchObject({ success: 50, abandoned: 0 });
      expect(t.notifier.totals()).toEqual({ success: 50, failure: 0, dropped: 30, skipped: 0 });
      await t.sub.waitFor(50);
      expect(t.filenames()).toEqual(Array.from({ length: 50 }, (_, i) => `${mac(30 + i)}.json`));
      const dropped = t.logger.entries.filter(
        (e) => e.msg === "notification not delivered" && e.code === "SINK_DROPPED",
      );
      expect(dropped).toHaveLength(30);
      const text = await t.registry.metrics();
      expect(metricValue(text, "iot_notifications_published_total", { sink: "mqtt", outcome: "dropped" })).toBe(30);
    } finally {
      await t.cleanup();
    }
  });

  it("flush waits only for what was pending when it began, and counts what did not settle in time as abandoned", async () => {
    const t = await cutOff();
    try {
      for (let i = 0; i < 3; i++) t.notifier.configSaved(mac(i));
      const first = t.notifier.flush(300);
      for (let i = 3; i < 5; i++) t.notifier.configSaved(mac(i));
      expect(await first).toEqual({ success: 0, failure: 0, dropped: 0, skipped: 0, abandoned: 3 });
      t.restore();
      expect(await t.notifier.flush(30_000)).toMatchObject({ success: 5, abandoned: 0 });
      expect(t.notifier.totals()).toEqual({ success: 5, failure: 0, dropped: 0, skipped: 0 });
    } finally {
      await t.cleanup();
    }
  });
});

describe("the notifier with a sink that has only publish", () => {
  it("hands it every notification and counts each, with and without Workers' track", async () => {
    for (const tracking of [false, true]) {
      const lines: string[] = [];
      const tracked: Promise<void>[] = [];
      const sink = createConsoleSink({ write: (line) => lines.push(line) });
      expect(sink.send).toBeUndefined();
      const notifier = createNotifier({
        sink,
        logger: createMemoryLogger(),
        ...(tracking ? { track: (settled: Promise<void>) => void tracked.push(settled) } : {}),
      });
      notifier.configSaved("aa-bb-cc-dd-ee-ff");
      notifier.assetUploaded("fw-1.0.bin", { size: 3 });
      expect(tracked).toHaveLength(tracking ? 2 : 0);
      expect(await notifier.flush(5000)).toEqual({ success: 2, failure: 0, dropped: 0, skipped: 0, abandoned: 0 });
      await Promise.all(tracked);
      expect(lines.map((l) => JSON.parse(l) as { payload: unknown })).toMatchObject([
        { payload: { filename: "aa-bb-cc-dd-ee-ff.json" } },
        { payload: { filename: "fw-1.0.bin" }, metadata: { size: 3 } },
      ]);
    }
  });
});
