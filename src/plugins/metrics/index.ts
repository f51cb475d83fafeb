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

export interface Metrics {
  registry: Registry;
  observer: OperationObserver;
  /** Wraps a sink so that its publishes are counted and timed; call once per sink. */
  wrapSink(sink: NotificationSink): NotificationSink;
  /** GET /metrics: the Prometheus text exposition. */
  exposition(): Promise<{ contentType: string; body: string }>;
}

export function createMetrics(registry: Registry = new Registry()): Metrics {
  const sinks = new Map<string, NotificationSink>();
  const instruments = createInstruments(registry, sinkGaugeCollectors(sinks));
  const decorator = createSinkDecorator(instruments, sinks);
  return {
    registry,
    observer: createOperationObserver(instruments),
    wrapSink: (sink) => decorator.wrap(sink),
    exposition: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}
