/**
 * The sink plugins every runtime offers, Cloudflare Workers included: the list the Worker
 * and its notification hub use. Adding a plugin that can run there (fetch, WebSockets,
 * timers) is one line here; the registry then routes its URL schemes to it on every
 * runtime that offers what it `requires`. A plugin that needs raw TCP or a filesystem goes
 * in server.ts instead, so that the Worker does not carry code it can never run.
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
