/**
 * The no-op sink: used when NOTIFY_URL (or MQTT_URL) is unset or empty. Every notification
 * is accepted and goes nowhere; the metrics decorator counts it as `skipped`, not as
 * delivered.
 */
import type { NotificationSink } from "../../core/sinks/contract.js";
import { defineSink } from "../../core/sinks/define-sink.js";

export const NOOP_SINK_NAME = "noop";

export function createNoopSink(): NotificationSink {
  return defineSink({ name: NOOP_SINK_NAME, deliver: async () => undefined });
}
