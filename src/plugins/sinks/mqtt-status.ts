/**
 * The MQTT sink's receiving side (MQTT_STATUS_TOPICS=true): devices' status reports on
 * `iotsupport/status/<mac>`, received on a connection of their own (mqtt-status-connection.ts,
 * never the one the sink publishes on) and handed, unchecked,
 * to the receiver the runtime attaches (core/sinks/status-reports.ts), which checks, records,
 * counts and logs them.
 *
 * Session: the sink connects with a clean session (a fresh client per connection, and by
 * default a random client id per process, so a session kept by the broker would outlive
 * the process and fill with messages for nobody). The subscription is therefore made again
 * on every connection; reports published while the server is not connected are not kept
 * for it (a device reports again with its next change, or over HTTP).
 *
 * A retained message is not a report being made now: one the broker replays because we
 * subscribed (MQTT 5 is asked not to, with retain handling 2) is skipped, never recorded
 * again as new at every reconnect.
 *
 * Backpressure: mqtt.js handles incoming packets one at a time and acknowledges a message
 * when `handleMessage` calls back. We call back at once (a report need not wait for the one
 * before it to be stored) until MAX_UNSETTLED reports are being recorded; past that, the
 * connection's reading waits for one to settle. That is why the connection is not the sink's:
 * held reading there held the PUBACKs of the notifications too.
 */
import type { IPublishPacket, MqttClient } from "mqtt";
import { errorFields, type Logger } from "../../core/logger.js";
import type { StatusReceiver } from "../../core/sinks/status-reports.js";

export const STATUS_TOPIC_PREFIX = "iotsupport/status/";
export const STATUS_TOPIC_FILTER = `${STATUS_TOPIC_PREFIX}+`;
/** Reports being recorded at once before the connection's reading is held back. */
export const MAX_UNSETTLED = 64;
/** How long close() waits for reports being recorded. */
export const SETTLE_TIMEOUT_MS = 2000;

export interface StatusTopics {
  /** Called on every new connection of the sink: subscribes on it once a receiver is attached. */
  connected(client: MqttClient): void;
  /** The capability (ReportSource.statusReports): starts receiving. */
  statusReports(receive: StatusReceiver): void;
  /** Waits, at most SETTLE_TIMEOUT_MS, for reports still being recorded (at the sink's close). */
  settle(): Promise<void>;
}

const bytesOf = (payload: IPublishPacket["payload"]): Uint8Array =>
  typeof payload === "string"
    ? new TextEncoder().encode(payload)
    : new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);

export function createStatusTopics(options: { logger: Logger; broker: string; protocolVersion: 4 | 5 }): StatusTopics {
  const { logger, broker, protocolVersion } = options;
  let receive: StatusReceiver | undefined;
  let client: MqttClient | undefined;
  const unsettled = new Set<Promise<void>>();
  /** Acknowledgements held back while MAX_UNSETTLED reports are being recorded. */
  const held: Array<() => void> = [];

  const handle = (packet: IPublishPacket, acknowledge: () => void) => {
    const deliver = receive;
    // Only our one filter is subscribed; anything else (or before a receiver) is acknowledged and left.
    if (!deliver || !packet.topic.startsWith(STATUS_TOPIC_PREFIX) || packet.retain) {
      acknowledge();
      return;
    }
    const device = packet.topic.slice(STATUS_TOPIC_PREFIX.length);
    const settled: Promise<void> = deliver({ device, payload: bytesOf(packet.payload) })
      .catch((error: unknown) => logger.error("a status message's receiver failed", errorFields(error)))
      .finally(() => {
        unsettled.delete(settled);
        held.shift()?.();
      });
    unsettled.add(settled);
    if (unsettled.size <= MAX_UNSETTLED) acknowledge();
    else held.push(acknowledge);
  };

  const subscribe = (via: MqttClient) => {
    // The broker answers with a SUBACK whose code says whether its ACL allowed the filter.
    const subscription = protocolVersion === 5 ? { qos: 1 as const, rh: 2 } : { qos: 1 as const };
    via.subscribe(STATUS_TOPIC_FILTER, subscription, (error, granted) => {
      if (via !== client) return;
      const code = granted?.[0]?.qos;
      if (error || code === undefined || code >= 0x80) {
        logger.error("the broker did not grant the status topics: device reports over MQTT are not received", {
          broker,
          topic: STATUS_TOPIC_FILTER,
          ...(code !== undefined ? { reason_code: code } : {}),
          ...(error ? errorFields(error) : {}),
        });
        return;
      }
      logger.info("subscribed to device status reports", { broker, topic: STATUS_TOPIC_FILTER });
    });
  };

  return {
    connected(via) {
      client = via;
      via.handleMessage = (packet, callback) => handle(packet, () => callback());
      if (receive) subscribe(via);
    },
    statusReports(receiver) {
      if (receive) throw new Error("status reports already have a receiver");
      receive = receiver;
      if (client?.connected) subscribe(client);
    },
    async settle() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SETTLE_TIMEOUT_MS);
      });
      await Promise.race([Promise.allSettled([...unsettled]), deadline]);
      clearTimeout(timer);
      // A connection going away with acknowledgements held: release them, the reports are recorded or abandoned.
      for (const acknowledge of held.splice(0)) acknowledge();
    },
  };
}
