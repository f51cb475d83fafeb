/**
 * The no-op sink: selected when MQTT_URL is unset or empty. Every notification is
 * accepted and counted (by the metrics decorator) but goes nowhere.
 */
import { type NotificationSink, SinkError, type SinkPlugin } from "../../core/notify.js";

export function createNoopSink(): NotificationSink {
  let closed = false;
  return {
    name: "noop",
    async publish() {
      if (closed) throw new SinkError("SINK_CLOSED", "noop sink is closed");
    },
    status: () => ({ ready: !closed, queueDepth: 0 }),
    async close() {
      closed = true;
    },
  };
}

export const noopSinkPlugin: SinkPlugin = {
  name: "noop",
  schemes: [""],
  create(_url, { logger }) {
    logger.info("MQTT_URL is not set: update notifications are disabled (no-op sink)");
    return createNoopSink();
  },
};
