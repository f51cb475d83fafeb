/**
 * The Workers notification hub's parts that need no Worker: the registry preferring a
 * runtime's host over per-request sinks, the metrics registry split between an isolate and
 * the hub, and /metrics when the hub does not answer (something `wrangler dev` cannot be
 * made to do on purpose; the hub itself runs under workerd in contract-worker.test.ts and
 * test/faults/worker-hub.test.ts).
 */
import { describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { type NotificationSink, SinkError, TOPICS } from "../src/core/sinks/contract.js";
import { defineSink } from "../src/core/sinks/define-sink.js";
import type { Capability, RuntimeInfo } from "../src/core/sinks/plugin.js";
import { SinkRegistry } from "../src/core/sinks/registry.js";
import { createMetrics } from "../src/plugins/metrics/index.js";
import { SINK_PLUGINS } from "../src/plugins/sinks/index.js";
import { withHubMetrics } from "../src/runtimes/worker-hub-metrics.js";
import { type HubQueueOptions, openHubQueue } from "../src/runtimes/worker-hub-queue.js";
import { keepReceiving, RECEIVING_ALARM_MS } from "../src/runtimes/worker-hub-reports.js";
import { metricValue } from "./support/http.js";
import { waitUntil } from "./support/wait.js";

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

  it("refuses MQTT_STATUS_TOPICS where sinks run per request, and lets the host receive", async () => {
    const perRequest = workers({ perRequest: () => hostedSink("mqtt") });
    await expect(create("ws://broker.example:9001", perRequest, { MQTT_STATUS_TOPICS: "true" })).rejects.toThrow(
      "Invalid setting MQTT_STATUS_TOPICS: Cloudflare Workers keeps no connection between requests to receive on; bind the notification hub (NOTIFY_HUB, see wrangler.toml)",
    );
    const hosted = workers({ hosted: hostedSink });
    expect(await create("ws://broker.example:9001", hosted, { MQTT_STATUS_TOPICS: "true" })).toMatchObject({
      hosted: true,
    });
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
    hub.observer.deviceStatusReport("ok");
    // The hub also counts the status reports its sink receives (MQTT_STATUS_TOPICS).
    expect(families((await hub.exposition()).body).sort()).toEqual(
      [...SINK_FAMILIES, "iot_device_status_reports_total"].sort(),
    );
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

  it("sums a family both count (status reports: HTTP in the isolate, MQTT in the hub), each series once", async () => {
    const isolate = createMetrics(undefined, { sink: "elsewhere" });
    isolate.observer.httpRequest("GET", "/api/health", 200, 0.001);
    for (const state of ["ok", "ok", "invalid"] as const) isolate.observer.deviceStatusReport(state);
    const hub = createMetrics(undefined, { sink: "only" });
    for (const state of ["ok", "ok", "ok", "failed"] as const) hub.observer.deviceStatusReport(state);
    const hubSink = hub.wrapSink(defineSink({ name: "mqtt", deliver: async () => undefined }));
    await hubSink.publish({ topic: TOPICS.configs, payload: { filename: "aa-bb-cc-dd-ee-ff.json" } });
    const merged = await withHubMetrics(
      await isolate.exposition(),
      async () => (await hub.exposition()).body,
      createMemoryLogger(),
    );
    const names = families(merged.body);
    expect(new Set(names).size).toBe(names.length);
    const reports = (state: string) => metricValue(merged.body, "iot_device_status_reports_total", { state });
    expect([reports("ok"), reports("failed"), reports("invalid")]).toEqual([5, 1, 1]);
    expect(merged.body.match(/^iot_device_status_reports_total\{state="ok"\}/gm)).toHaveLength(1);
    expect(metricValue(merged.body, "iot_notifications_published_total", { outcome: "success" })).toBe(1);
    expect(metricValue(merged.body, "iot_http_requests_total", { route: "/api/health" })).toBe(1);
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

describe("the hub's alarm while it receives status reports", () => {
  /** Durable Object storage stands in here (it runs only under workerd): a map and the one alarm. */
  const storage = (alarm: number | null) => {
    const data = new Map<string, unknown>();
    const set: number[] = [];
    return {
      set,
      alarm: () => alarm,
      get: async (key: string) => data.get(key),
      put: async (entries: string | Record<string, unknown>, value?: unknown) => {
        if (typeof entries === "string") data.set(entries, value);
        else for (const [k, v] of Object.entries(entries)) data.set(k, v);
      },
      delete: async (keys: string | string[]) => {
        for (const key of Array.isArray(keys) ? keys : [keys]) data.delete(key);
        return true;
      },
      list: async () => new Map(),
      getAlarm: async () => alarm,
      setAlarm: async (at: number) => {
        alarm = at;
        set.push(at);
      },
    };
  };

  it("keeps one set, and the queue brings it forward when a notification must be retried sooner", async () => {
    const logger = createMemoryLogger();
    const store = storage(null);
    await keepReceiving(store, logger);
    const keepAlive = store.alarm() as number;
    expect(keepAlive - Date.now()).toBeGreaterThan(RECEIVING_ALARM_MS - 1000);
    // A later keep-alive passes over an alarm already set.
    await keepReceiving(store, logger);
    expect(store.set).toHaveLength(1);

    const unavailable = defineSink({
      name: "mqtt",
      deliver: () => Promise.reject(new SinkError("SINK_UNAVAILABLE", "broker unreachable")),
    });
    const metrics = createMetrics(undefined, { sink: "only" });
    const queue = await openHubQueue({
      storage: store as unknown as HubQueueOptions["storage"],
      sink: metrics.wrapSink(unavailable),
      metrics,
      logger,
      retryMs: 100,
    });
    await queue.enqueue({ topic: TOPICS.configs, payload: { filename: "aa-bb-cc-dd-ee-ff.json" } });
    await waitUntil("the retry alarm", () => (store.alarm() as number) < keepAlive);
    expect((store.alarm() as number) - Date.now()).toBeLessThanOrEqual(100);
    expect(logger.entries.filter((e) => e.level === "error")).toEqual([]);
  });
});

describe("the hub's queue in storage", () => {
  /** Durable Object storage stands in here: writes issued in one turn (no await between them) are one commit. */
  const counting = () => {
    const data = new Map<string, unknown>();
    let commits = 0;
    let open = false;
    const commit = () => {
      if (open) return;
      open = true;
      commits++;
      queueMicrotask(() => {
        open = false;
      });
    };
    return {
      data,
      commits: () => commits,
      get: async (key: string) => data.get(key),
      put: async (entries: string | Record<string, unknown>, value?: unknown) => {
        commit();
        if (typeof entries === "string") data.set(entries, value);
        else for (const [k, v] of Object.entries(entries)) data.set(k, v);
      },
      delete: async (keys: string | string[]) => {
        commit();
        for (const key of Array.isArray(keys) ? keys : [keys]) data.delete(key);
        return true;
      },
      list: async () => new Map(),
      getAlarm: async () => null,
      setAlarm: async () => undefined,
    };
  };

  it("removes what settled with the next arrivals' write: one commit per save, not two", async () => {
    const store = counting();
    const metrics = createMetrics(undefined, { sink: "only" });
    const queue = await openHubQueue({
      storage: store as unknown as HubQueueOptions["storage"],
      sink: metrics.wrapSink(defineSink({ name: "mqtt", deliver: async () => undefined })),
      metrics,
      logger: createMemoryLogger(),
      removeAfterMs: 2000,
    });
    const saves = 10;
    for (let i = 0; i < saves; i++) {
      await queue.enqueue({
        topic: TOPICS.configs,
        payload: { filename: `aa-bb-cc-dd-ee-${String(i).padStart(2, "0")}.json` },
      });
      // Each delivered before the next save arrives, as a quiet broker would.
      await waitUntil("its delivery", async () => (await metrics.publishCounts()).length > 0 && queue.size() === 0);
    }
    await waitUntil("the last ones removed", () => [...store.data.keys()].every((key) => !key.startsWith("q:")));
    // Each save's write, and one removal after the last: the settled ones went with the next save's write.
    expect(store.commits()).toBe(saves + 1);
    expect(store.data.get("counts")).toEqual([
      { labels: { sink: "mqtt", topic: TOPICS.configs, outcome: "success" }, value: saves },
    ]);
  });
});
