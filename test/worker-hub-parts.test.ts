/**
 * The Workers notification hub's parts that need no Worker: the registry preferring a
 * runtime's host over per-request sinks, the metrics registry split between an isolate and
 * the hub, and /metrics when the hub does not answer (something `wrangler dev` cannot be
 * made to do on purpose; the hub itself runs under workerd in contract-worker.test.ts and
 * test/faults/worker-hub.test.ts).
 */
import { describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { type NotificationSink, TOPICS } from "../src/core/sinks/contract.js";
import { defineSink } from "../src/core/sinks/define-sink.js";
import type { Capability, RuntimeInfo } from "../src/core/sinks/plugin.js";
import { SinkRegistry } from "../src/core/sinks/registry.js";
import { createMetrics } from "../src/plugins/metrics/index.js";
import { SINK_PLUGINS } from "../src/plugins/sinks/index.js";
import { withHubMetrics } from "../src/runtimes/worker-hub-metrics.js";

const SINK_FAMILIES = [
  "iot_notifications_published_total",
  "iot_notification_ack_duration_seconds",
  "iot_notification_sink_ready",
  "iot_notification_queue_depth",
];
const families = (text: string) =>
  text
    .split("\n")
    .filter((line) => line.startsWith("# TYPE "))
    .map((line) => line.split(" ")[2] as string);

describe("the registry on a runtime with a host", () => {
  const hostedSink = (name: string): NotificationSink => defineSink({ name, deliver: async () => undefined });
  const workers = (extra: Partial<RuntimeInfo>): RuntimeInfo => ({
    name: "Cloudflare Workers",
    capabilities: new Set<Capability>(),
    ...extra,
  });
  const create = (url: string, runtime: RuntimeInfo, env: Record<string, string> = {}) =>
    new SinkRegistry(SINK_PLUGINS).create({
      url: new URL(url),
      urlVariable: "MQTT_URL",
      env,
      logger: createMemoryLogger(),
      runtime,
    });

  it("hands a plugin needing a lasting connection to the host, in preference to per-request sinks", async () => {
    const asked: string[] = [];
    const runtime = workers({
      hosted: (name) => {
        asked.push(name);
        return hostedSink(name);
      },
      perRequest: () => {
        throw new Error("per-request chosen over the host");
      },
    });
    const built = await create("ws://broker.example:9001", runtime);
    expect(built).toMatchObject({ hosted: true, plugin: { name: "mqtt" } });
    expect(asked).toEqual(["mqtt"]);
    // A sink the runtime can run itself stays here.
    expect(await create("console:", runtime)).toMatchObject({ hosted: false, plugin: { name: "console" } });
  });

  it("still refuses raw TCP, and checks the plugin's settings at boot, when a host would run the sink", async () => {
    const runtime = workers({ hosted: hostedSink });
    await expect(create("mqtt://broker.example:1883", runtime)).rejects.toThrow(
      "Invalid setting MQTT_URL: mqtt:// needs raw TCP sockets, which Cloudflare Workers cannot keep open; use ws:// or wss://",
    );
    await expect(create("ws://broker.example:9001", runtime, { MQTT_PROTOCOL_VERSION: "6" })).rejects.toThrow(
      "Invalid setting MQTT_PROTOCOL_VERSION",
    );
    await expect(create("https://hooks.example/iot", runtime)).rejects.toThrow("Invalid setting WEBHOOK_SECRET");
  });
});

describe("metrics split between an isolate and the hub", () => {
  it("leaves the sink families out of the isolate's registry, and everything else out of the hub's", async () => {
    const isolate = createMetrics(undefined, { sink: "elsewhere" });
    const sink = defineSink({ name: "mqtt", deliver: async () => undefined });
    expect(isolate.wrapSink(sink)).toBe(sink);
    const own = families((await isolate.exposition()).body);
    expect(own).toContain("iot_http_requests_total");
    for (const family of SINK_FAMILIES) expect(own).not.toContain(family);

    const hub = createMetrics(undefined, { sink: "only" });
    await hub.wrapSink(sink).publish({ topic: TOPICS.configs, payload: { filename: "aa-bb-cc-dd-ee-ff.json" } });
    expect(families((await hub.exposition()).body).sort()).toEqual([...SINK_FAMILIES].sort());
  });

  it("carries the publish counters over to a new registry (a restarted hub)", async () => {
    const before = createMetrics(undefined, { sink: "only" });
    const sink = before.wrapSink(defineSink({ name: "mqtt", deliver: async () => undefined }));
    for (let i = 0; i < 3; i++) await sink.publish({ topic: TOPICS.assets, payload: { filename: `fw-${i}.bin` } });
    const after = createMetrics(undefined, { sink: "only" });
    after.addPublishCounts(await before.publishCounts());
    expect((await after.exposition()).body).toContain(
      'iot_notifications_published_total{sink="mqtt",topic="iotsupport/updates/assets",outcome="success"} 3',
    );
  });
});

describe("/metrics with the hub's part", () => {
  const own = async () => {
    const isolate = createMetrics(undefined, { sink: "elsewhere" });
    isolate.observer.httpRequest("GET", "/api/health", 200, 0.001);
    return isolate.exposition();
  };
  const hubText = async () => (await createMetrics(undefined, { sink: "only" }).exposition()).body;

  it("appends the hub's sink families to the isolate's, each family once", async () => {
    const logger = createMemoryLogger();
    const merged = await withHubMetrics(await own(), hubText, logger);
    const names = families(merged.body);
    expect(new Set(names).size).toBe(names.length);
    for (const family of [...SINK_FAMILIES, "iot_http_requests_total"]) expect(names).toContain(family);
    expect(logger.entries).toEqual([]);
  });

  it.each([
    ["fails", () => Promise.reject(new Error("Durable Object is overloaded"))],
    ["does not answer", () => new Promise<string>(() => {})],
  ])("answers with the isolate's part, and a warning, when the hub %s", async (_, hub) => {
    const logger = createMemoryLogger();
    const isolate = await own();
    const merged = await withHubMetrics(isolate, hub, logger, 50);
    expect(merged).toEqual(isolate);
    expect(logger.entries).toHaveLength(1);
    expect(logger.entries[0]).toMatchObject({ level: "warn", msg: expect.stringContaining("notification hub") });
  });
});
