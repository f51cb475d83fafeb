/** The no-op and console sinks, bare and wrapped by the metrics decorator, through the conformance suite. */
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { TOPICS } from "../src/core/sinks/contract.js";
import { createSinkMetrics } from "../src/plugins/metrics/sink-metrics.js";
import { consoleSinkPlugin, createConsoleSink } from "../src/plugins/sinks/console.js";
import { createNoopSink } from "../src/plugins/sinks/noop.js";
import { metricValue } from "./support/http.js";
import { type SinkConformanceOptions, testSink } from "./support/sink-conformance.js";

const consoleUnderTest = (wrap: boolean) => async () => {
  const lines: string[] = [];
  const bare = createConsoleSink({ write: (l) => lines.push(l) });
  return {
    sink: wrap ? createSinkMetrics(new Registry()).wrap(bare) : bare,
    received: async () =>
      lines
        .map((l) => JSON.parse(l) as { topic: string; payload: unknown })
        .map(({ topic, payload }) => ({ topic, payload })),
    // Built through the registry, it writes to standard output (one line in the test's output), not to `lines`.
    registry: { plugin: consoleSinkPlugin, url: "console:", env: {}, observed: false },
    cleanup: async () => {},
  };
};

const NO_FAR_END = "not applicable: console has no far end";
const CONSOLE_LACKS: SinkConformanceOptions["lacks"] = {
  refusing: NO_FAR_END,
  stall: NO_FAR_END,
  link: NO_FAR_END,
  queueLimit: "not applicable: console writes at once and holds no queue",
  invalidSettings: "not applicable: console has no settings",
};
const NOOP_LACKS: SinkConformanceOptions["lacks"] = {
  refusing: "not applicable: noop has no far end",
  stall: "not applicable: noop has no far end",
  link: "not applicable: noop has no far end",
  queueLimit: "not applicable: noop holds nothing",
  registry: "not applicable: noop is no plugin (an unset NOTIFY_URL selects it)",
  invalidSettings: "not applicable: noop has no settings",
};

testSink({
  name: "noop",
  lacks: NOOP_LACKS,
  create: async () => ({ sink: createNoopSink(), cleanup: async () => {} }),
});
testSink({
  name: "noop + metrics",
  lacks: NOOP_LACKS,
  create: async () => ({ sink: createSinkMetrics(new Registry()).wrap(createNoopSink()), cleanup: async () => {} }),
});
testSink({ name: "console", lacks: CONSOLE_LACKS, create: consoleUnderTest(false) });
testSink({ name: "console + metrics", lacks: CONSOLE_LACKS, create: consoleUnderTest(true) });

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
  const published = (text: string, labels: Record<string, string>) =>
    metricValue(text, "iot_notifications_published_total", labels);

  it("counts outcomes by sink and topic, times acknowledgements, and reads gauges at scrape time", async () => {
    const registry = new Registry();
    const sink = createSinkMetrics(registry).wrap(createConsoleSink({ write: () => undefined }));
    await sink.publish({ topic: TOPICS.configs, payload: { filename: "aa-bb-cc-dd-ee-ff.json" } });
    await sink.publish({ topic: TOPICS.assets, payload: { filename: "fw.bin" } });
    let text = await registry.metrics();
    expect(published(text, { sink: "console", topic: TOPICS.configs, outcome: "success" })).toBe(1);
    expect(published(text, { sink: "console", topic: TOPICS.assets, outcome: "success" })).toBe(1);
    expect(
      metricValue(text, "iot_notification_ack_duration_seconds_count", { sink: "console", topic: TOPICS.configs }),
    ).toBe(1);
    expect(metricValue(text, "iot_notification_sink_ready", { sink: "console" })).toBe(1);
    expect(text).not.toContain("aa-bb-cc-dd-ee-ff");
    expect(text).not.toContain("fw.bin");
    await sink.close();
    await expect(sink.publish({ topic: TOPICS.configs, payload: { filename: "x.json" } })).rejects.toMatchObject({
      code: "SINK_CLOSED",
    });
    text = await registry.metrics();
    expect(published(text, { sink: "console", topic: TOPICS.configs, outcome: "failure" })).toBe(1);
    expect(metricValue(text, "iot_notification_sink_ready", { sink: "console" })).toBe(0);
  });

  it("counts the no-op sink's publishes as skipped, not delivered, and times nothing", async () => {
    const registry = new Registry();
    const sink = createSinkMetrics(registry).wrap(createNoopSink());
    await sink.publish({ topic: TOPICS.configs, payload: { filename: "aa-bb-cc-dd-ee-ff.json" } });
    const text = await registry.metrics();
    expect(published(text, { sink: "noop", topic: TOPICS.configs, outcome: "skipped" })).toBe(1);
    expect(published(text, { sink: "noop", topic: TOPICS.configs, outcome: "success" })).toBe(0);
    expect(
      metricValue(text, "iot_notification_ack_duration_seconds_count", { sink: "noop", topic: TOPICS.configs }),
    ).toBe(0);
  });
});
