/**
 * The no-op sink: used when NOTIFY_URL (or MQTT_URL) is unset or empty. Every notification
 * is accepted and goes nowhere; the metrics decorator and the shutdown log count it as
 * `skipped`, not as delivered (src/core/sinks/outcome.ts).
 */
import type { NotificationSink } from "../../core/sinks/contract.js";
import { defineSink } from "../../core/sinks/define-sink.js";
import { NOOP_SINK_NAME } from "../../core/sinks/outcome.js";

export function createNoopSink(): NotificationSink {
  return defineSink({ name: NOOP_SINK_NAME, deliver: async () => undefined });
}
