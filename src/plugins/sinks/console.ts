/**
 * The console sink (`MQTT_URL=console:`): one JSON line per notification on
 * standard output. Useful in development and as the smallest worked example of a
 * sink plugin (see "Writing a sink plugin" in the README).
 */
import { type NotificationSink, SinkError, type SinkPlugin } from "../../core/notify.js";

export interface ConsoleSinkOptions {
  /** Where lines go; defaults to console.log, which every runtime has. */
  write?: (line: string) => void;
  now?: () => Date;
}

export function createConsoleSink(options: ConsoleSinkOptions = {}): NotificationSink {
  const write = options.write ?? ((line: string) => console.log(line));
  const now = options.now ?? (() => new Date());
  let closed = false;
  return {
    name: "console",
    async publish(notification) {
      if (closed) throw new SinkError("SINK_CLOSED", "console sink is closed");
      write(JSON.stringify({ time: now().toISOString(), topic: notification.topic, payload: notification.payload }));
    },
    status: () => ({ ready: !closed, queueDepth: 0 }),
    async close() {
      closed = true;
    },
  };
}

export const consoleSinkPlugin: SinkPlugin = {
  name: "console",
  schemes: ["console"],
  create: () => createConsoleSink(),
};
