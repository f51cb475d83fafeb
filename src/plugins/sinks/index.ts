/**
 * The sink plugins shipped with the server: the one list every runtime uses. Adding a
 * plugin is one line here; the registry then routes its URL schemes to it on every
 * runtime that offers what it `requires`.
 */
import type { SinkPlugin } from "../../core/sinks/plugin.js";
import { consoleSinkPlugin } from "./console.js";
import { mqttSinkPlugin } from "./mqtt-plugin.js";
import { webhookSinkPlugin } from "./webhook.js";

export const SINK_PLUGINS: readonly SinkPlugin[] = [
  consoleSinkPlugin,
  mqttSinkPlugin,
  webhookSinkPlugin,
] as SinkPlugin[];
