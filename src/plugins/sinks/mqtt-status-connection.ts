/**
 * The connection status reports arrive on (MQTT_STATUS_TOPICS=true): its own, not the
 * sink's publishing one. mqtt.js reads a connection's packets one at a time, and while
 * MAX_UNSETTLED reports are being recorded the status topics hold that reading back
 * (mqtt-status.ts). On a shared connection the sink's PUBACKs then waited behind device
 * reports: 10,000 devices reporting after their saves held the acknowledgements of the
 * very notifications they were waiting for, the sink's queue passed MQTT_QUEUE_LIMIT and
 * dropped them (bench: 2,991 of 10,000 devices never heard of their config). Apart, the
 * reports' backpressure slows only the reports.
 *
 * This connection never publishes, so mqtt.js's own reconnect is safe here (the sink
 * keeps its own for the reason given in mqtt.ts); the subscription is made again on each
 * connection by the status topics (clean session), never replayed by mqtt.js.
 */
import type { MqttClient } from "mqtt";
import { errorFields, type Logger } from "../../core/logger.js";
import { type ConnectFn, endClient } from "./mqtt.js";
import { mqttTarget } from "./mqtt-options.js";
import type { MqttOptions } from "./mqtt-settings.js";

const RECONNECT_PERIOD_MS = 1000;

export interface StatusConnection {
  /** Ends the connection (a clean DISCONNECT when the broker answers); no report arrives after it. */
  close(): Promise<void>;
}

export interface StatusConnectionOptions {
  url: URL;
  options: MqttOptions;
  logger: Logger;
  connect: Promise<ConnectFn>;
  /** Told of the client on every (re)connection, to subscribe on it. */
  connected(client: MqttClient): void;
}

export function openStatusConnection({ url, options, logger, connect, connected }: StatusConnectionOptions) {
  // Its own client id: a broker drops a connection whose id another one takes. Without
  // MQTT_CLIENT_ID each gets its own random id anyway.
  const clientId = options.clientId ? `${options.clientId}-status` : undefined;
  const target = mqttTarget(url, { ...options, clientId });
  let client: MqttClient | undefined;
  let closed = false;
  let up = false;

  const ready = connect
    .then((connectTo) => {
      if (closed) return;
      const current = connectTo(target.url, {
        ...target.options,
        reconnectPeriod: RECONNECT_PERIOD_MS,
        resubscribe: false,
      });
      client = current;
      let everUp = false;
      current.on("connect", () => {
        if (everUp) logger.info("MQTT status connection restored", { broker: target.display });
        up = true;
        everUp = true;
        connected(current);
      });
      current.on("close", () => {
        if (up && !closed) logger.warn("MQTT status connection lost; reconnecting", { broker: target.display });
        up = false;
      });
      // The sink's own connection logs the broker's errors (same broker, same credentials): debug here.
      current.on("error", (error) =>
        logger.debug("MQTT status connection error", { broker: target.display, ...errorFields(error) }),
      );
    })
    .catch((error: unknown) => {
      // Only loading mqtt.js can fail here; the sink logs the same failure at error level.
      logger.debug("MQTT status connection not opened", errorFields(error));
    });

  return {
    async close() {
      closed = true;
      await ready;
      const last = client;
      if (!last) return;
      await endClient(last);
    },
  } satisfies StatusConnection;
}
