/** The no-op and console sinks, bare and wrapped by the metrics decorator, through the conformance suite. */
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { TOPICS } from "../src/core/notify.js";
import { createSinkMetrics } from "../src/plugins/metrics/sink-metrics.js";
import { createConsoleSink } from "../src/plugins/sinks/console.js";
import { createNoopSink } from "../src/plugins/sinks/noop.js";
import { metricValue } from "./support/http.js";
import { testSink } from "./support/sink-conformance.js";

const consoleUnderTest = (wrap: boolean) => async () => {
  const lines: string[] = [];
  const bare = createConsoleSink({ write: (l) => lines.push(l) });
  return {
    sink: wrap ? createSinkMetrics(new Registry()).wrap(bare) : bare,
    received: async () =>
      lines
        .map((l) => JSON.parse(l) as { topic: string; payload: unknown })
        .map(({ topic, payload }) => ({ topic, payload })),
    cleanup: async () => {},
  };
};

testSink({ name: "noop", create: async () => ({ sink: createNoopSink(), cleanup: async () => {} }) });
testSink({
  name: "noop + metrics",
  create: async () => ({ sink: createSinkMetrics(new Registry()).wrap(createNoopSink()), cleanup: async () => {} }),
});
testSink({ name: "console", create: consoleUnderTest(false) });
testSink({ name: "console + metrics", create: consoleUnderTest(true) });

describe("console sink", () => {
  it("writes exactly one JSON line per notification", async () => {
    const lines: string[] = [];
    const sink = createConsoleSink({ write: (l) => lines.push(l), now: () => new Date("2026-01-01T00:00:00Z") });
    await sink.publish({ topic: TOPICS.assets, payload: { filename: "fw.bin" } });
    expect(lines).toEqual([
      '{"time":"2026-01-01T00:00:00.000Z","topic":"iotsupport/updates/assets","payload":{"filename":"fw.bin"}}',
    ]);
  });
});

describe("metrics decorator", () => {
  it("counts outcomes by sink and topic, times acknowledgements, and reads gauges at scrape time", async () => {
    const registry = new Registry();
    const sink = createSinkMetrics(registry).wrap(createNoopSink());
    await sink.publish({ topic: TOPICS.configs, payload: { filename: "aa-bb-cc-dd-ee-ff.json" } });
    await sink.publish({ topic: TOPICS.assets, payload: { filename: "fw.bin" } });
    let text = await registry.metrics();
    expect(
      metricValue(text, "iot_notifications_published_total", {
        sink: "noop",
        topic: TOPICS.configs,
        outcome: "success",
      }),
    ).toBe(1);
    expect(
      metricValue(text, "iot_notifications_published_total", {
        sink: "noop",
        topic: TOPICS.assets,
        outcome: "success",
      }),
    ).toBe(1);
    expect(
      metricValue(text, "iot_notification_ack_duration_seconds_count", { sink: "noop", topic: TOPICS.configs }),
    ).toBe(1);
    expect(metricValue(text, "iot_notification_sink_ready", { sink: "noop" })).toBe(1);
    expect(text).not.toContain("aa-bb-cc-dd-ee-ff");
    expect(text).not.toContain("fw.bin");
    await sink.close();
    await expect(sink.publish({ topic: TOPICS.configs, payload: { filename: "x.json" } })).rejects.toMatchObject({
      code: "SINK_CLOSED",
    });
    text = await registry.metrics();
    expect(
      metricValue(text, "iot_notifications_published_total", {
        sink: "noop",
        topic: TOPICS.configs,
        outcome: "failure",
      }),
    ).toBe(1);
    expect(metricValue(text, "iot_notification_sink_ready", { sink: "noop" })).toBe(0);
  });
});
