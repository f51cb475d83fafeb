/**
 * The MQTT sink (`mqtt://`, `mqtts://`, `ws://`, `wss://`), on mqtt.js.
 *
 * Delivery contract: `publish` resolves on PUBACK. Notifications wait in our own
 * bounded queue while the broker is unreachable and are sent in order once it is
 * back; past the bound the oldest are dropped (rejected with SINK_DROPPED). A
 * message that was in flight when the connection dropped goes back to the front
 * of the queue, so it is sent again rather than lost (at-least-once).
 *
 * Each connection is a fresh mqtt.js client with its own reconnect disabled: we
 * reconnect ourselves, so mqtt.js never replays or drops its internal copy of a
 * message we have already re-queued, and a publish can never hang on a dead client.
 */
import type { IClientOptions, IClientPublishOptions, MqttClient } from "mqtt";
import { errorFields, type Logger } from "../../core/logger.js";
import { type Notification, type NotificationSink, SinkError, TOPICS } from "../../core/sinks/contract.js";
import { Fifo } from "./fifo.js";
import { mqttTarget } from "./mqtt-options.js";
import type { MqttOptions } from "./mqtt-settings.js";

export type ConnectFn = (url: string, options: IClientOptions) => MqttClient;

interface Pending {
  notification: Notification;
  /** The MQTT topic this message goes to (a notification may go to its device's own topic too). */
  topic: string;
  resolve(): void;
  reject(error: SinkError): void;
}

interface InFlight {
  client: MqttClient;
  timer: ReturnType<typeof setTimeout>;
}

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;
const CLOSE_GRACE_MS = 1000;

/** MQTT 5 / 3.1.1 CONNACK codes that mean "your credentials are wrong". */
const AUTH_CODES = new Set([4, 5, 134, 135]);

export interface MqttSinkOptions {
  url: URL;
  context: { logger: Logger; options: MqttOptions };
  /** mqtt.js's connect; injectable so a runtime can supply its own build. Loaded lazily by default. */
  connect?: ConnectFn;
  /** Told of every new connection once the broker accepted it (the status topics subscribe on it). */
  onConnect?: (client: MqttClient) => void;
}

/** mqtt.js is the heaviest module we load (~0.1 s); servers without a broker never pay for it. */
const loadConnect = async (): Promise<ConnectFn> => (await import("mqtt")).connect;

export function createMqttSink({ url, context, connect, onConnect }: MqttSinkOptions): NotificationSink {
  const connectFn: Promise<ConnectFn> = connect ? Promise.resolve(connect) : loadConnect();
  const { logger, options } = context;
  const target = mqttTarget(url, options);
  const queue = new Fifo<Pending>();
  /**
   * MQTT 5 user properties describe the stored bytes (a device can skip a fetch whose
   * ETag it already has, and check what it fetched); 3.1.1 has no properties to carry them.
   */
  const publishOptions = ({ metadata }: Notification): IClientPublishOptions => {
    const properties: Record<string, string> = {};
    if (options.protocolVersion === 5 && metadata) {
      if (metadata.sha256) properties.sha256 = metadata.sha256;
      if (metadata.size !== undefined) properties.size = String(metadata.size);
      if (metadata.etag) properties.etag = metadata.etag;
    }
    return Object.keys(properties).length > 0
      ? { qos: 1, retain: false, properties: { userProperties: properties } }
      : { qos: 1, retain: false };
  };
  /** The shared topic, and with MQTT_DEVICE_TOPICS the device's own: `iotsupport/updates/configs/<mac>`. */
  const topicsOf = (notification: Notification): string[] => {
    const mac = /^([0-9a-f]{2}(?:-[0-9a-f]{2}){5})\.json$/.exec(notification.payload.filename)?.[1];
    return options.deviceTopics && notification.topic === TOPICS.configs && mac
      ? [notification.topic, `${notification.topic}/${mac}`]
      : [notification.topic];
  };
  const inFlight = new Map<Pending, InFlight>();
  let client: MqttClient | undefined;
  let connected = false;
  let window = options.maxInflight;
  let closed = false;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let backoff = RECONNECT_MIN_MS;
  let lastErrorKey: string | undefined;
  let failedAttempts = 0;
  let everConnected = false;

  if (options.tlsInsecure && (url.protocol === "mqtts:" || url.protocol === "wss:")) {
    logger.warn("MQTT TLS certificate verification is disabled (MQTT_TLS_INSECURE)", { broker: target.display });
  }

  /** Drops the oldest waiting notifications beyond the bound, counting each as dropped. */
  const enforceBound = () => {
    while (queue.length > options.queueLimit) {
      const oldest = queue.shift() as Pending;
      oldest.reject(new SinkError("SINK_DROPPED", `queue full (${options.queueLimit}): oldest notification dropped`));
    }
  };

  /** Puts everything in flight on `dead` back at the front of the queue, in original order. */
  const requeueInFlight = (dead: MqttClient) => {
    const back: Pending[] = [];
    for (const [pending, flight] of inFlight) {
      if (flight.client !== dead) continue;
      clearTimeout(flight.timer);
      inFlight.delete(pending);
      back.push(pending);
    }
    queue.unshift(...back);
    enforceBound();
  };

  const pump = () => {
    while (connected && client && !closed && inFlight.size < window && queue.length > 0) {
      send(client, queue.shift() as Pending);
    }
  };

  // PUBACKs arrive in bursts (several per socket read). Refilling the window once per
  // burst, not once per PUBACK, lets the writes of a burst go out together; measured
  // ~1.5× the throughput of refilling inside each callback (bench/sink-throughput.ts).
  let pumpScheduled = false;
  const schedulePump = () => {
    if (pumpScheduled) return;
    pumpScheduled = true;
    queueMicrotask(() => {
      pumpScheduled = false;
      pump();
    });
  };

  /** Gives up on a connection at once: nothing more is sent on it, its in-flight messages go back to the queue. */
  const recycle = (via: MqttClient, reason: string) => {
    if (client === via && connected) {
      connected = false;
      logger.warn("recycling the MQTT connection", { broker: target.display, reason, in_flight: inFlight.size });
    }
    requeueInFlight(via);
    // Never re-enter mqtt.js from inside its own callbacks: ending the client while it is
    // flushing its outgoing table (e.g. on a keep-alive timeout) makes it read entries it
    // just deleted and throw, which crashed the process. A microtask runs after it is done.
    queueMicrotask(() => via.end(true));
  };

  const send = (via: MqttClient, pending: Pending) => {
    const timer = setTimeout(() => recycle(via, `no PUBACK within ${options.ackTimeoutMs} ms`), options.ackTimeoutMs);
    inFlight.set(pending, { client: via, timer });
    const { topic, notification } = pending;
    via.publish(topic, JSON.stringify(notification.payload), publishOptions(notification), (error) => {
      const flight = inFlight.get(pending);
      // Settled already (re-queued after a disconnect, or the sink closed).
      if (!flight || flight.client !== via) return;
      const reasonCode = (error as { code?: unknown } | undefined)?.code;
      if (error && !(typeof reasonCode === "number" && reasonCode >= 0x80)) {
        // A transport error on a live-looking client: everything in flight on it,
        // this message included, is sent again on the next connection, in order.
        recycle(via, `publish failed: ${error.message}`);
        return;
      }
      clearTimeout(flight.timer);
      inFlight.delete(pending);
      if (error) {
        pending.reject(
          new SinkError("SINK_REJECTED", `broker rejected the message: ${error.message}`, { cause: error }),
        );
      } else {
        pending.resolve();
      }
      schedulePump();
    });
  };

  const logConnectError = (error: Error) => {
    const code = (error as { code?: unknown }).code;
    const auth = typeof code === "number" && AUTH_CODES.has(code);
    const key = `${String(code)}:${error.message}`;
    const fields = { broker: target.display, ...errorFields(error) };
    if (key === lastErrorKey) {
      logger.debug("MQTT connection error (repeated)", fields);
      return;
    }
    lastErrorKey = key;
    if (auth) logger.error("MQTT broker refused the credentials: check MQTT_USERNAME and MQTT_PASSWORD", fields);
    else logger.warn("MQTT connection error; notifications are queued until the broker is back", fields);
  };

  const scheduleReconnect = () => {
    if (closed || reconnectTimer) return;
    const delay = Math.round(backoff * (0.8 + Math.random() * 0.4));
    backoff = Math.min(backoff * 2, RECONNECT_MAX_MS);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      openSafely();
    }, delay);
  };

  const open = async () => {
    const connectTo = await connectFn;
    if (closed) return;
    const current = connectTo(target.url, target.options);
    client = current;
    current.on("connect", (connack) => {
      if (client !== current || closed) return;
      connected = true;
      backoff = RECONNECT_MIN_MS;
      const receiveMaximum = connack.properties?.receiveMaximum;
      window = Math.max(1, Math.min(options.maxInflight, receiveMaximum ?? options.maxInflight));
      // "Restored" after any outage, even one healed by the very first reconnect attempt.
      logger.info(failedAttempts > 0 || everConnected ? "MQTT connection restored" : "MQTT connected", {
        broker: target.display,
        protocol_version: options.protocolVersion,
        queued: queue.length,
        failed_attempts: failedAttempts,
      });
      failedAttempts = 0;
      everConnected = true;
      lastErrorKey = undefined;
      onConnect?.(current);
      pump();
    });
    current.on("error", logConnectError);
    current.on("close", () => {
      if (client !== current) return;
      if (connected)
        logger.warn("MQTT connection lost; reconnecting", { broker: target.display, in_flight: inFlight.size });
      else failedAttempts++;
      connected = false;
      requeueInFlight(current);
      current.removeAllListeners("connect");
      scheduleReconnect();
    });
  };

  function openSafely() {
    open().catch((error: unknown) => {
      // Only loading mqtt.js itself can fail here; without it the sink can never connect.
      logger.error("MQTT client library could not be loaded; notifications stay queued", errorFields(error));
    });
  }
  openSafely();

  return {
    name: "mqtt",
    publish(notification) {
      if (closed) return Promise.reject(new SinkError("SINK_CLOSED", "mqtt sink is closed"));
      if (options.queueLimit === 0 && !connected) {
        return Promise.reject(new SinkError("SINK_UNAVAILABLE", "broker unreachable and MQTT_QUEUE_LIMIT is 0"));
      }
      const messages = topicsOf(notification).map(
        (topic) =>
          new Promise<void>((resolve, reject) => {
            queue.push({ notification, topic, resolve, reject });
          }),
      );
      enforceBound();
      pump();
      return messages.length === 1 ? (messages[0] as Promise<void>) : Promise.all(messages).then(() => undefined);
    },
    status: () => ({ ready: connected && !closed, queueDepth: queue.length + inFlight.size }),
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(reconnectTimer);
      const abandoned = [...inFlight.keys(), ...queue.drain()];
      for (const [pending, flight] of inFlight) {
        clearTimeout(flight.timer);
        inFlight.delete(pending);
      }
      for (const pending of abandoned) pending.reject(new SinkError("SINK_CLOSED", "mqtt sink closed before delivery"));
      const last = client;
      connected = false;
      if (!last) return;
      // A clean DISCONNECT when the broker answers, a hard close when it does not.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          last.end(true);
          resolve();
        }, CLOSE_GRACE_MS);
        last.end(false, {}, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
