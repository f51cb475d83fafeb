/**
 * The MQTT sink (`mqtt://`, `mqtts://`, `ws://`, `wss://`), on mqtt.js.
 *
 * Delivery contract: `publish` resolves on PUBACK (`send` is the same, told to a receipt:
 * the notifier's burst then waits as plain records). Notifications wait in our
 * own bounded queue while the broker is unreachable and are sent in order once it is
 * back; past the bound (MQTT_QUEUE_LIMIT) the oldest are dropped (rejected with
 * SINK_DROPPED). While connected, a broker that merely acknowledges slower than saves
 * arrive is not unreachable: messages wait for the window up to CONNECTED_QUEUE_CAP
 * (memory stays bounded), and MQTT_QUEUE_LIMIT applies again the moment the connection
 * is lost. A message that was in flight when the connection dropped goes back to the
 * front of the queue, so it is sent again rather than lost (at-least-once).
 *
 * Each connection is a fresh mqtt.js client with its own reconnect disabled: we
 * reconnect ourselves, so mqtt.js never replays or drops its internal copy of a
 * message we have already re-queued, and a publish can never hang on a dead client.
 */
import type { IClientOptions, MqttClient } from "mqtt";
import { errorFields, type Logger } from "../../core/logger.js";
import { type Notification, type NotificationSink, type Receipt, SinkError } from "../../core/sinks/contract.js";
import { MessageQueue, type Pending, payloadOf, publishOptions } from "./mqtt-messages.js";
import { mqttTarget } from "./mqtt-options.js";
import type { MqttOptions } from "./mqtt-settings.js";

export type ConnectFn = (url: string, options: IClientOptions) => MqttClient;

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;
const CLOSE_GRACE_MS = 1000;
/**
 * Most messages waiting for the window while the broker is connected (or MQTT_QUEUE_LIMIT
 * if larger). A burst of 10,000 config saves with device topics is 20,000 messages, each a
 * few hundred bytes; 100,000 keeps a burst five times that in some tens of MB at most.
 */
export const CONNECTED_QUEUE_CAP = 100_000;

/** MQTT 5 / 3.1.1 CONNACK codes that mean "your credentials are wrong". */
const AUTH_CODES = new Set([4, 5, 134, 135]);

export interface MqttSinkOptions {
  url: URL;
  context: { logger: Logger; options: MqttOptions };
  /** mqtt.js's connect; injectable so a runtime can supply its own build. Loaded lazily by default. */
  connect?: ConnectFn;
}

/** A clean DISCONNECT when the broker answers within CLOSE_GRACE_MS, a hard close when it does not. */
export const endClient = (client: MqttClient): Promise<void> =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.end(true);
      resolve();
    }, CLOSE_GRACE_MS);
    client.end(false, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** mqtt.js is the heaviest module we load (~0.1 s); servers without a broker never pay for it. */
export const loadConnect = async (): Promise<ConnectFn> => (await import("mqtt")).connect;

export function createMqttSink({ url, context, connect }: MqttSinkOptions): NotificationSink {
  const connectFn: Promise<ConnectFn> = connect ? Promise.resolve(connect) : loadConnect();
  const { logger, options } = context;
  const target = mqttTarget(url, options);
  const queue = new MessageQueue();
  /**
   * Each message in flight, with when it was sent, in send order: the first is the one whose
   * PUBACK is due first. (Not a field of the record: a number there is a heap box per queued record.)
   */
  const inFlight = new Map<Pending, number>();
  let ackTimer: ReturnType<typeof setTimeout> | undefined;
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

  const connectedLimit = Math.max(options.queueLimit, CONNECTED_QUEUE_CAP);
  /**
   * Drops the oldest waiting notifications beyond the bound, counting each as dropped: MQTT_QUEUE_LIMIT
   * while the broker is unreachable (SPEC), the larger memory cap while it is connected and acknowledging.
   */
  const enforceBound = () => {
    const limit = connected ? connectedLimit : options.queueLimit;
    if (queue.length <= limit) return;
    const reason = connected
      ? `queue full while connected (${limit}): oldest notification dropped`
      : `queue full (${limit}): oldest notification dropped`;
    while (queue.length > limit) (queue.shift() as Pending).receipt.settled(new SinkError("SINK_DROPPED", reason));
  };

  /** Puts everything in flight on `dead` back at the front of the queue, in original order. */
  const requeueInFlight = (dead: MqttClient) => {
    const back: Pending[] = [];
    for (const pending of inFlight.keys()) {
      if (pending.via !== dead) continue;
      inFlight.delete(pending);
      pending.via = undefined;
      back.push(pending);
    }
    queue.unshift(back);
    enforceBound();
  };

  /** Whether a queued message can be sent now. */
  const room = () => connected && client !== undefined && !closed && inFlight.size < window && queue.length > 0;
  const pump = () => {
    // One clock read for the messages one refill writes together: they leave within microseconds
    // of each other, and the ack timeout counts in milliseconds. Read only when there is room:
    // during a burst most calls find the window full. (Checked again for each message: a failed
    // publish recycles the connection in the middle of a refill.)
    if (!room()) return;
    const now = performance.now();
    while (room()) transmit(client as MqttClient, queue.shift() as Pending, now);
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

  /**
   * One timer for the whole window, not one per message: it fires when the oldest message
   * in flight is due, and a message past its deadline recycles the connection it went out on.
   */
  const checkAcks = () => {
    ackTimer = undefined;
    const [oldest, sentAt] = inFlight.entries().next().value ?? [];
    if (!oldest?.via || sentAt === undefined) return;
    const late = performance.now() - sentAt - options.ackTimeoutMs;
    if (late >= 0) recycle(oldest.via, `no PUBACK within ${options.ackTimeoutMs} ms`);
    else ackTimer = setTimeout(checkAcks, -late);
  };

  const transmit = (via: MqttClient, pending: Pending, now: number) => {
    pending.via = via;
    inFlight.set(pending, now);
    ackTimer ??= setTimeout(checkAcks, options.ackTimeoutMs);
    const { topic, notification } = pending;
    via.publish(topic, payloadOf(notification), publishOptions(options.protocolVersion, notification), (error) => {
      // Settled already (re-queued after a disconnect, or the sink closed).
      if (pending.via !== via) return;
      const reasonCode = (error as { code?: unknown } | undefined)?.code;
      if (error && !(typeof reasonCode === "number" && reasonCode >= 0x80)) {
        // A transport error on a live-looking client: everything in flight on it,
        // this message included, is sent again on the next connection, in order.
        recycle(via, `publish failed: ${error.message}`);
        return;
      }
      inFlight.delete(pending);
      pending.via = undefined;
      pending.receipt.settled(
        error
          ? new SinkError("SINK_REJECTED", `broker rejected the message: ${error.message}`, { cause: error })
          : undefined,
      );
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

  const send = (notification: Notification, receipt: Receipt) => {
    if (closed) return receipt.settled(new SinkError("SINK_CLOSED", "mqtt sink is closed"));
    if (options.queueLimit === 0 && !connected) {
      return receipt.settled(new SinkError("SINK_UNAVAILABLE", "broker unreachable and MQTT_QUEUE_LIMIT is 0"));
    }
    queue.enqueue(notification, receipt, options.deviceTopics === true);
    enforceBound();
    pump();
  };

  return {
    name: "mqtt",
    send,
    publish: (notification) =>
      new Promise<void>((resolve, reject) =>
        send(notification, { settled: (error) => (error === undefined ? resolve() : reject(error)) }),
      ),
    status: () => ({ ready: connected && !closed, queueDepth: queue.length + inFlight.size }),
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(reconnectTimer);
      clearTimeout(ackTimer);
      const sent = [...inFlight.keys()];
      inFlight.clear();
      for (const pending of sent) pending.via = undefined;
      const abandoned = [...sent.map((pending) => pending.receipt), ...queue.drain()];
      for (const receipt of abandoned)
        receipt.settled(new SinkError("SINK_CLOSED", "mqtt sink closed before delivery"));
      const last = client;
      connected = false;
      if (!last) return;
      await endClient(last);
    },
  };
}
