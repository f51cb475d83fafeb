/**
 * The series kept outside prom-client (src/plugins/metrics/plain-series.ts, and the HTTP pair
 * of http-series.ts over them) must read exactly as prom-client's Counter and Histogram would:
 * the same observations go into both, and the registries' text (what /metrics serves) and JSON
 * must be identical.
 */
import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createHttpSeries } from "../src/plugins/metrics/http-series.js";
import { createPlainCounter, createPlainHistogram } from "../src/plugins/metrics/plain-series.js";
import { METRICS } from "../src/plugins/metrics/table.js";

const { httpRequests: requests, httpDuration: duration, ackDuration: ack, publishes } = METRICS;

function both() {
  const theirs = new Registry();
  const counter = new Counter({
    name: requests.name,
    help: requests.help,
    labelNames: [...requests.labels],
    registers: [theirs],
  });
  const histogram = new Histogram({
    name: duration.name,
    help: duration.help,
    labelNames: [...duration.labels],
    buckets: [...duration.buckets],
    registers: [theirs],
  });
  const ours = new Registry();
  const series = createHttpSeries(ours, requests, { ...duration, buckets: duration.buckets });
  const observe = (method: string, route: string, status: number, seconds: number) => {
    counter.inc({ method, route, status: String(status) });
    histogram.observe({ method, route }, seconds);
    series.child(method, route, status).observe(seconds);
  };
  return { theirs, ours, observe, series, counter, histogram };
}

describe("HTTP series outside prom-client", () => {
  it("reads byte for byte as prom-client's counter and histogram, bounds and overflow included", async () => {
    const { theirs, ours, observe } = both();
    expect(await ours.metrics()).toBe(await theirs.metrics()); // empty: HELP and TYPE lines only
    const bounds = duration.buckets;
    const samples = [0, 0.00001, ...bounds, ...bounds.map((b) => b * 1.0001), 7.5, 1e6];
    samples.forEach((seconds, i) => {
      observe("GET", "/files/configs/:file", i % 3 === 0 ? 304 : 200, seconds);
      if (i % 4 === 0) observe("PUT", "/api/configs/:mac", i % 8 === 0 ? 400 : 200, seconds / 3);
    });
    observe("DELETE", "/api/configs/:mac", 404, 0.3);
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain(
      'iot_http_request_duration_seconds_bucket{le="0.0005",method="GET",route="/files/configs/:file"}',
    );
    expect(text).toContain('iot_http_requests_total{method="DELETE",route="/api/configs/:mac",status="404"} 1');
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
  });

  it("hands out one child per method, route and status, and refuses a duration that is not a number", () => {
    const { series } = both();
    const child = series.child("GET", "/health", 200);
    expect(series.child("GET", "/health", 200)).toBe(child);
    expect(series.child("GET", "/health", 503)).not.toBe(child);
    expect(() => child.observe(Number.NaN)).toThrow(TypeError);
    expect(() => child.observe(Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });

  it("resets like prom-client's: counts and durations start again, each on its own", async () => {
    const { theirs, ours, observe, counter } = both();
    observe("GET", "/health", 200, 0.002);
    ours.resetMetrics();
    theirs.resetMetrics();
    observe("GET", "/health", 200, 0.004);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // Only the counter reset: the histogram keeps its two observations.
    (ours.getSingleMetric(requests.name) as unknown as { reset(): void }).reset();
    counter.reset();
    observe("GET", "/health", 200, 0.02);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('iot_http_request_duration_seconds_count{method="GET",route="/health"} 2');
  });

  it("the sink's acknowledgement times: a child never used shows no series, a used one reads as prom-client's", async () => {
    const theirs = new Registry();
    const their = new Histogram({
      name: ack.name,
      help: ack.help,
      labelNames: [...ack.labels],
      buckets: [...ack.buckets],
      registers: [theirs],
    });
    const theirCount = new Counter({
      name: publishes.name,
      help: publishes.help,
      labelNames: [...publishes.labels],
      registers: [theirs],
    });
    const ours = new Registry();
    const mine = createPlainHistogram(ours, { ...ack, labelNames: ack.labels });
    const myCount = createPlainCounter(ours, { ...publishes, labelNames: publishes.labels });
    const unused = { sink: "mqtt", topic: "iotsupport/updates/assets" };
    their.labels(unused);
    mine.labels(unused);
    const used = { sink: "mqtt", topic: "iotsupport/updates/configs" };
    const theirChild = their.labels(used);
    const myChild = mine.labels(used);
    for (const seconds of [0.0004, 0.001, 0.003, 0.7, 31]) {
      theirChild.observe(seconds);
      myChild.observe(seconds);
    }
    const outcome = { sink: "mqtt", topic: used.topic, outcome: "success" };
    theirCount.labels(outcome).inc(0);
    myCount.labels(outcome).inc(0);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).not.toContain("updates/assets");
    expect(await ours.metrics()).toContain('outcome="success"} 0');
  });

  it("refuses what prom-client refuses: a missing or unknown label, a negative increment", () => {
    const ours = new Registry();
    const mine = createPlainHistogram(ours, { ...ack, labelNames: ack.labels });
    const count = createPlainCounter(ours, { ...publishes, labelNames: publishes.labels });
    expect(() => mine.labels({ sink: "mqtt" })).toThrow(TypeError);
    expect(() => mine.labels({ sink: "mqtt", topic: "t", extra: "x" })).toThrow(TypeError);
    expect(() => count.labels({ sink: "mqtt", topic: "t", outcome: "success" }).inc(-1)).toThrow(TypeError);
  });
});
