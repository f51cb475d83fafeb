/** The sink plugins shipped with the server, registered by URL scheme. */
import { SinkRegistry } from "../../core/notify.js";
import { consoleSinkPlugin } from "./console.js";
import { mqttSinkPlugin } from "./mqtt.js";
import { noopSinkPlugin } from "./noop.js";

export function defaultSinkRegistry(): SinkRegistry {
  return new SinkRegistry().register(noopSinkPlugin).register(consoleSinkPlugin).register(mqttSinkPlugin);
}
