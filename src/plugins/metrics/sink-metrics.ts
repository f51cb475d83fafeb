/**
 * The metrics decorator: wraps any NotificationSink (MQTT, console, no-op, or a
 * future plugin) without changing its behaviour, and counts every publish by sink,
 * topic and outcome, times it to acknowledgement, and exposes readiness and queue
 * depth as gauges read at scrape time. Labels are bounded: the two topics, the sink
 * name, three outcomes — never a MAC or a filename.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { isSinkError, type NotificationSink } from "../../core/notify.js";

export type PublishOutcome = "success" | "failure" | "dropped";

const ACK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface SinkMetrics {
  wrap(sink: NotificationSink): NotificationSink;
}

/** Declares the sink metrics once per registry; `wrap` may then be called for any number of sinks. */
export function createSinkMetrics(registry: Registry): SinkMetrics {
  const registers = [registry];
  const sinks = new Map<string, NotificationSink>();
  const publishes = new Counter({
    name: "iot_notifications_published_total",
    help: "Notifications handed to a sink, by sink, topic and outcome (success = acknowledged)",
    labelNames: ["sink", "topic", "outcome"] as const,
    registers,
  });
  const ackSeconds = new Histogram({
    name: "iot_notification_ack_duration_seconds",
    help: "Time from publish to acknowledgement by the sink (PUBACK for MQTT)",
    labelNames: ["sink", "topic"] as const,
    buckets: ACK_BUCKETS,
    registers,
  });
  new Gauge({
    name: "iot_notification_sink_ready",
    help: "1 when the sink can deliver now (for MQTT: connected), else 0",
    labelNames: ["sink"] as const,
    registers,
    collect() {
      for (const [name, sink] of sinks) this.set({ sink: name }, sink.status().ready ? 1 : 0);
    },
  });
  new Gauge({
    name: "iot_notification_queue_depth",
    help: "Notifications accepted by the sink and not yet acknowledged",
    labelNames: ["sink"] as const,
    registers,
    collect() {
      for (const [name, sink] of sinks) this.set({ sink: name }, sink.status().queueDepth);
    },
  });

  // Label children are looked up once per (sink, topic, outcome) and reused: prom-client
  // otherwise hashes the label object on every call, which was half the decorator's cost.
  type Children = {
    ack: ReturnType<typeof ackSeconds.labels>;
    outcome: Record<PublishOutcome, ReturnType<typeof publishes.labels>>;
  };
  const children = new Map<string, Children>();
  const childrenFor = (sink: string, topic: string): Children => {
    const key = `${sink}\u0000${topic}`;
    let found = children.get(key);
    if (!found) {
      found = {
        ack: ackSeconds.labels({ sink, topic }),
        outcome: {
          success: publishes.labels({ sink, topic, outcome: "success" }),
          failure: publishes.labels({ sink, topic, outcome: "failure" }),
          dropped: publishes.labels({ sink, topic, outcome: "dropped" }),
        },
      };
      children.set(key, found);
    }
    return found;
  };

  return {
    wrap(sink) {
      sinks.set(sink.name, sink);
      return {
        name: sink.name,
        publish(notification) {
          const start = performance.now();
          const counted = childrenFor(sink.name, notification.topic);
          return sink.publish(notification).then(
            () => {
              counted.ack.observe((performance.now() - start) / 1000);
              counted.outcome.success.inc();
            },
            (error: unknown) => {
              counted.outcome[isSinkError(error) && error.code === "SINK_DROPPED" ? "dropped" : "failure"].inc();
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
