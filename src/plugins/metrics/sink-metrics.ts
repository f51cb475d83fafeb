/**
 * The metrics decorator: wraps any NotificationSink without changing its behaviour, and
 * counts every publish by sink, topic and outcome, times it to acknowledgement, and feeds
 * the readiness and queue-depth gauges (read at scrape time). Outcomes (`success`, `failure`,
 * `dropped`, `skipped`) are decided in src/core/sinks/outcome.ts, which the shutdown log uses too.
 */
import type { Registry } from "prom-client";
import type { NotificationSink } from "../../core/sinks/contract.js";
import { type PublishOutcome, rejectedOutcome, resolvedOutcome } from "../../core/sinks/outcome.js";
import { reportSourceOf, type StatusReceiver } from "../../core/sinks/status-reports.js";
import { type Collectors, createInstruments, type Instruments } from "./instruments.js";

export interface SinkDecorator {
  wrap(sink: NotificationSink): NotificationSink;
  /** The sinks wrapped so far, for the gauges' scrape-time collection. */
  readonly sinks: Map<string, NotificationSink>;
}

export function createSinkDecorator(m: Instruments, sinks = new Map<string, NotificationSink>()): SinkDecorator {
  // Label children are looked up once per (sink, topic) and reused: prom-client otherwise
  // hashes the label object on every call, which was half the decorator's cost.
  type Children = {
    ack: ReturnType<typeof m.ackDuration.labels>;
    outcome: Record<PublishOutcome, ReturnType<typeof m.publishes.labels>>;
  };
  const children = new Map<string, Children>();
  const childrenFor = (sink: string, topic: string): Children => {
    const key = `${sink}\u0000${topic}`;
    let found = children.get(key);
    if (!found) {
      const outcome = (name: PublishOutcome) => m.publishes.labels({ sink, topic, outcome: name });
      found = {
        ack: m.ackDuration.labels({ sink, topic }),
        outcome: {
          success: outcome("success"),
          failure: outcome("failure"),
          dropped: outcome("dropped"),
          skipped: outcome("skipped"),
        },
      };
      children.set(key, found);
    }
    return found;
  };

  return {
    sinks,
    wrap(sink) {
      sinks.set(sink.name, sink);
      const delivered = resolvedOutcome(sink.name);
      // An optional capability passes through as it is: receiving is counted by its receiver, not here.
      const source = reportSourceOf(sink);
      return {
        ...(source ? { statusReports: (receive: StatusReceiver) => source.statusReports(receive) } : {}),
        name: sink.name,
        publish(notification) {
          const start = performance.now();
          const counted = childrenFor(sink.name, notification.topic);
          return sink.publish(notification).then(
            () => {
              if (delivered === "success") counted.ack.observe((performance.now() - start) / 1000);
              counted.outcome[delivered].inc();
            },
            (error: unknown) => {
              counted.outcome[rejectedOutcome(error)].inc();
              throw error;
            },
          );
        },
        status: () => sink.status(),
        close: () => sink.close(),
      };
    },
  };
}

/** The readiness and queue-depth gauges, read from the wrapped sinks at scrape time. */
export const sinkGaugeCollectors = (sinks: Map<string, NotificationSink>): Collectors => ({
  sinkReady: (gauge) => {
    for (const [name, sink] of sinks) gauge.set({ sink: name }, sink.status().ready ? 1 : 0);
  },
  queueDepth: (gauge) => {
    for (const [name, sink] of sinks) gauge.set({ sink: name }, sink.status().queueDepth);
  },
});

/** The decorator alone, on its own registry (sink tests and benchmarks). */
export function createSinkMetrics(registry: Registry): SinkDecorator {
  const sinks = new Map<string, NotificationSink>();
  return createSinkDecorator(createInstruments(registry, sinkGaugeCollectors(sinks)), sinks);
}
