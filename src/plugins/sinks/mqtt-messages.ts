/**
 * How a notification becomes MQTT messages for the sink's queue (mqtt.ts): the topics it
 * goes to, and the publish options that carry its metadata. Each message is a plain record,
 * so a burst of thousands queued while the window is full holds no promise or timer each.
 */
import type { IClientPublishOptions, MqttClient } from "mqtt";
import { type Notification, type Receipt, TOPICS } from "../../core/sinks/contract.js";
import type { Fifo } from "./fifo.js";

/** One message waiting or in flight. */
export interface Pending {
  notification: Notification;
  /** The MQTT topic this message goes to (a notification may go to its device's own topic too). */
  topic: string;
  receipt: Receipt;
  /** While in flight: the connection it was sent on. */
  via: MqttClient | undefined;
}

/** mqtt.js copies a publish's options, so one object serves every message without metadata. */
const PLAIN: IClientPublishOptions = Object.freeze({ qos: 1, retain: false });

/**
 * MQTT 5 user properties describe the stored bytes (a device can skip a fetch whose
 * ETag it already has, and check what it fetched); 3.1.1 has no properties to carry them.
 */
export function publishOptions(protocolVersion: 4 | 5, { metadata }: Notification): IClientPublishOptions {
  if (protocolVersion !== 5 || !metadata) return PLAIN;
  const properties: Record<string, string> = {};
  if (metadata.sha256) properties.sha256 = metadata.sha256;
  if (metadata.size !== undefined) properties.size = String(metadata.size);
  if (metadata.etag) properties.etag = metadata.etag;
  return Object.keys(properties).length > 0 ? { ...PLAIN, properties: { userProperties: properties } } : PLAIN;
}

/** With MQTT_DEVICE_TOPICS, a config's device topic besides the shared one: `iotsupport/updates/configs/<mac>`. */
function deviceTopicOf(notification: Notification): string | undefined {
  if (notification.topic !== TOPICS.configs) return undefined;
  const mac = /^([0-9a-f]{2}(?:-[0-9a-f]{2}){5})\.json$/.exec(notification.payload.filename)?.[1];
  return mac ? `${notification.topic}/${mac}` : undefined;
}

/** Both messages of a notification settle it once: on the first failure, or when both are delivered. */
class Both implements Receipt {
  #left = 2;
  constructor(readonly outer: Receipt) {}
  settled(error: unknown) {
    if (this.#left === 0) return;
    this.#left = error === undefined ? this.#left - 1 : 0;
    if (this.#left === 0) this.outer.settled(error);
  }
}

/** Queues the message(s) of one notification, in order. */
export function enqueue(
  queue: Fifo<Pending>,
  notification: Notification,
  receipt: Receipt,
  deviceTopics: boolean,
): void {
  const deviceTopic = deviceTopics ? deviceTopicOf(notification) : undefined;
  const each = deviceTopic ? new Both(receipt) : receipt;
  queue.push({ notification, topic: notification.topic, receipt: each, via: undefined });
  if (deviceTopic) queue.push({ notification, topic: deviceTopic, receipt: each, via: undefined });
}
