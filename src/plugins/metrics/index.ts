/**
 * The metrics plugin, after @hono/prometheus: one factory over a registry passed in,
 * giving the operation observer (HTTP requests included), the sink decorator, and the
 * /metrics exposition. Every metric is declared once, in table.ts.
 */
import { Registry } from "prom-client";
import type { OperationObserver } from "../../core/observer.js";
import type { NotificationSink } from "../../core/sinks/contract.js";
import { createInstruments } from "./instruments.js";
import { createOperationObserver } from "./operations.js";
import { createSinkDecorator, sinkGaugeCollectors } from "./sink-metrics.js";
import { METRICS } from "./table.js";

/** The families the sink decorator feeds. */
const SINK_FAMILIES: ReadonlySet<string> = new Set(
  [METRICS.publishes, METRICS.ackDuration, METRICS.sinkReady, METRICS.queueDepth].map((spec) => spec.name),
);

/**
 * What a sink receives (device status reports over MQTT) is counted where the sink runs: in
 * the Workers hub, this family is kept beside the sink's, and /metrics sums it with the
 * isolate's own count of reports over HTTP (worker-hub-metrics.ts).
 */
const RECEIVED_FAMILIES: ReadonlySet<string> = new Set([METRICS.statusReports.name]);

export interface MetricsOptions {
  /**
   * Which registry counts the sink. "here" (the default): this one, with everything else.
   * "elsewhere": another registry does (a Worker whose sink runs in the notification hub),
   * so the sink families are left out here, lest a scrape show them twice, and `wrapSink`
   * wraps nothing. "only": this registry counts the sink, and the status reports it receives,
   * and nothing else (that hub).
   */
  sink?: "here" | "elsewhere" | "only";
}

/** One series of `iot_notifications_published_total`, as kept where a registry does not outlive its process. */
export interface PublishCount {
  labels: Record<string, string | number>;
  value: number;
}

export interface Metrics {
  registry: Registry;
  observer: OperationObserver;
  /** Wraps a sink so that its publishes are counted and timed; call once per sink. */
  wrapSink(sink: NotificationSink): NotificationSink;
  /** GET /metrics: the Prometheus text exposition. */
  exposition(): Promise<{ contentType: string; body: string }>;
  /** The publish counters, to persist (the Workers hub keeps them across restarts). */
  publishCounts(): Promise<PublishCount[]>;
  /** Adds counts an earlier incarnation persisted, so counters stay cumulative. */
  addPublishCounts(counts: readonly PublishCount[]): void;
}

export function createMetrics(registry: Registry = new Registry(), options: MetricsOptions = {}): Metrics {
  const where = options.sink ?? "here";
  const sinks = new Map<string, NotificationSink>();
  const instruments = createInstruments(registry, sinkGaugeCollectors(sinks));
  const decorator = createSinkDecorator(instruments, sinks);
  for (const spec of Object.values(METRICS)) {
    const sinkFamily = SINK_FAMILIES.has(spec.name);
    const hosted = sinkFamily || RECEIVED_FAMILIES.has(spec.name);
    if ((where === "elsewhere" && sinkFamily) || (where === "only" && !hosted)) {
      registry.removeSingleMetric(spec.name);
    }
  }
  return {
    registry,
    observer: createOperationObserver(instruments),
    wrapSink: (sink) => (where === "elsewhere" ? sink : decorator.wrap(sink)),
    exposition: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
    publishCounts: async () =>
      (await instruments.publishes.get()).values.map(({ labels, value }) => ({ labels: { ...labels }, value })),
    addPublishCounts(counts) {
      for (const { labels, value } of counts) instruments.publishes.inc(labels, value);
    },
  };
}
