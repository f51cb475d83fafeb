/**
 * The plugin guide's example sink plugin (docs/plugins.md), complete: appends each
 * notification as one JSON line to a file (an audit trail, or for a sidecar that tails it),
 * selected by `NOTIFY_URL=jsonl:/var/log/iot/notifications.jsonl`. Not registered in
 * server.ts; a test checks that the guide shows this file as it is, and runs it through the
 * conformance suite, the registry and a real boot.
 */
import { open } from "node:fs/promises";
import { bool } from "../../core/setting-types.js";
import { type NotificationSink, SinkError } from "../../core/sinks/contract.js";
import { defineSink } from "../../core/sinks/define-sink.js";
import { defineSinkPlugin, SinkConfigError } from "../../core/sinks/plugin.js";

export const JSONL_SETTINGS = {
  JSONL_SYNC: {
    schema: bool.default(false),
    description: "`true` flushes the file to disk after every line",
    defaultText: "`false`",
  },
};

export function createJsonlSink(path: string, sync: boolean): NotificationSink {
  return defineSink({
    name: "jsonl",
    async deliver({ topic, payload, metadata }) {
      const line = `${JSON.stringify({ time: new Date().toISOString(), topic, payload, metadata })}\n`;
      try {
        const file = await open(path, "a");
        try {
          await file.appendFile(line);
          if (sync) await file.sync();
        } finally {
          await file.close();
        }
      } catch (error) {
        // Typed, so the notifier logs it and the metrics count it as a failure.
        throw new SinkError("SINK_UNAVAILABLE", `cannot append to ${path}`, { cause: error });
      }
    },
  });
}

export const jsonlSinkPlugin = defineSinkPlugin({
  name: "jsonl",
  schemes: ["jsonl"],
  settings: JSONL_SETTINGS,
  // A runtime listing it without a filesystem stops the boot with one line saying so, and this hint.
  requires: () => [{ capability: "filesystem", hint: "use console: and the platform's log instead" }],
  check({ url, urlVariable }) {
    if (!url.pathname) throw new SinkConfigError(urlVariable, "no file (e.g. jsonl:/var/log/iot/notifications.jsonl)");
  },
  create: ({ url, settings }) => createJsonlSink(decodeURIComponent(url.pathname), settings.JSONL_SYNC),
});
