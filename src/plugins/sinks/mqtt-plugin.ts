/**
 * The MQTT sink plugin (`mqtt://`, `mqtts://`, `ws://`, `wss://`): its settings, what it
 * needs from the runtime, and how the sink is built (see mqtt.ts for the sink itself).
 */
import type { Logger } from "../../core/logger.js";
import type { NotificationSink } from "../../core/sinks/contract.js";
import { defineSinkPlugin, SinkConfigError } from "../../core/sinks/plugin.js";
import type { ReportSource } from "../../core/sinks/status-reports.js";
import { createMqttSink, loadConnect } from "./mqtt.js";
import { MQTT_SCHEMES, mqttTarget, TCP_SCHEMES } from "./mqtt-options.js";
import { MQTT_SETTINGS, type MqttOptions, mqttOptions } from "./mqtt-settings.js";
import { createStatusTopics } from "./mqtt-status.js";
import { openStatusConnection } from "./mqtt-status-connection.js";

/** Per-connection logs (connected, disconnected) would come once per request: keep them at debug. */
const quieter = (logger: Logger): Logger => ({ ...logger, info: logger.debug });

/** The sink that also receives status reports (MQTT_STATUS_TOPICS=true), on a second connection. */
function createReceivingMqttSink(url: URL, logger: Logger, options: MqttOptions): NotificationSink & ReportSource {
  const topics = createStatusTopics({
    logger,
    broker: mqttTarget(url, options).display,
    protocolVersion: options.protocolVersion,
  });
  const sink = createMqttSink({ url, context: { logger, options } });
  // Reports arrive on a connection of their own: their backpressure must never hold the sink's PUBACKs.
  const reports = openStatusConnection({ url, options, logger, connect: loadConnect(), connected: topics.connected });
  let closing: Promise<void> | undefined;
  return {
    ...sink,
    statusReports: topics.statusReports,
    // No new report once its connection is closed; then the reports being recorded are waited for.
    close: () => {
      closing ??= Promise.all([sink.close(), reports.close().then(topics.settle)]).then(() => undefined);
      return closing;
    },
  };
}

const uniqueSuffix = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, "0")).join("");

export const mqttSinkPlugin = defineSinkPlugin({
  name: "mqtt",
  schemes: MQTT_SCHEMES,
  settings: MQTT_SETTINGS,
  requires: (url) => [
    // Raw TCP first: where it is missing, "use ws://" is the useful thing to say.
    ...(TCP_SCHEMES.has(url.protocol.replace(/:$/, ""))
      ? [{ capability: "tcp" as const, hint: "use ws:// or wss://" }]
      : []),
    // A persistent connection with a queue; where a runtime keeps nothing between requests
    // (Workers), the registry runs it per request instead (a connection per publishing request).
    { capability: "longLivedConnections" as const },
  ],
  check({ url, urlVariable, settings, runtime }) {
    if (!url.hostname) throw new SinkConfigError(urlVariable, "no broker host");
    if (settings.MQTT_CA_FILE && settings.MQTT_CA) {
      throw new SinkConfigError("MQTT_CA", "set either MQTT_CA or MQTT_CA_FILE, not both");
    }
    if (settings.MQTT_CA_FILE && !runtime.readFile) {
      throw new SinkConfigError("MQTT_CA_FILE", `${runtime.name} has no filesystem; give the PEM itself as MQTT_CA`);
    }
    // Receiving needs a connection that stays open between requests: on Workers, the notification hub's.
    if (settings.MQTT_STATUS_TOPICS && !runtime.capabilities.has("longLivedConnections") && !runtime.hosted) {
      throw new SinkConfigError(
        "MQTT_STATUS_TOPICS",
        `${runtime.name} keeps no connection between requests to receive on; bind the notification hub (NOTIFY_HUB, see wrangler.toml)`,
      );
    }
  },
  demands: (settings) => (settings.MQTT_STATUS_TOPICS ? "MQTT_STATUS_TOPICS" : undefined),
  async create({ url, settings, logger, runtime }) {
    let ca: string | undefined;
    if (settings.MQTT_CA_FILE && runtime.readFile) {
      try {
        ca = await runtime.readFile(settings.MQTT_CA_FILE);
      } catch (error) {
        const code = (error as { code?: string }).code ?? "unknown error";
        throw new SinkConfigError("MQTT_CA_FILE", `cannot read the CA file (${code})`);
      }
    }
    const options = mqttOptions(settings, ca);
    if (runtime.capabilities.has("longLivedConnections")) {
      return options.statusTopics
        ? createReceivingMqttSink(url, logger, options)
        : createMqttSink({ url, context: { logger, options } });
    }
    // One connection per publishing request: concurrent requests hold concurrent connections,
    // so each gets its own client id (a broker drops a connection whose id another takes).
    const clientId = options.clientId ? `${options.clientId}-${uniqueSuffix()}` : undefined;
    return createMqttSink({ url, context: { logger: quieter(logger), options: { ...options, clientId } } });
  },
});
