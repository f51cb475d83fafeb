/**
 * The console sink (`NOTIFY_URL=console:`): one JSON line per notification on standard
 * output. Useful in development, and the smallest example of a sink plugin.
 */

import type { NotificationSink } from "../../core/sinks/contract.js";
import { defineSink } from "../../core/sinks/define-sink.js";
import { defineSinkPlugin } from "../../core/sinks/plugin.js";

export interface ConsoleSinkOptions {
  /** Where lines go; defaults to console.log, which every runtime has. */
  write?: (line: string) => void;
  now?: () => Date;
}

export function createConsoleSink(options: ConsoleSinkOptions = {}): NotificationSink {
  const write = options.write ?? ((line: string) => console.log(line));
  const now = options.now ?? (() => new Date());
  return defineSink({
    name: "console",
    async deliver({ topic, payload, metadata }) {
      write(JSON.stringify({ time: now().toISOString(), topic, payload, ...(metadata ? { metadata } : {}) }));
    },
  });
}

export const consoleSinkPlugin = defineSinkPlugin({
  name: "console",
  schemes: ["console"],
  settings: {},
  create: () => createConsoleSink(),
});
