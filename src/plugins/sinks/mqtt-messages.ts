/**
 * How a notification becomes MQTT messages for the sink's queue (mqtt.ts): the topics it
 * goes to, and the publish options that carry its metadata. Each message is a plain record,
 * so a burst of thousands queued while the window is full holds no promise or timer each.
 */
import type { IClientPublishOptions, MqttClient } from "mqtt";
import { type Notification, type Receipt, TOPICS } from "../../core/sinks/contract.js";
import { Fifo } from "./fifo.js";

/** One message taken out of the queue to be sent, until it settles or goes back. */
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

/**
 * The message body, `{"filename":"…"}` (SPEC): the same bytes as `JSON.stringify(payload)`
 * for the contract's one-field payload, at about half its cost (stringify walks the object
 * generically; only the name needs escaping), paid once per message of a burst.
 */
export const payloadOf = ({ payload }: Notification): string => `{"filename":${JSON.stringify(payload.filename)}}`;

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

/**
 * The messages waiting for the window, oldest first: three slots of one FIFO each (notification,
 * topic, receipt), no object per message however long the burst. A Pending record is made only
 * for a message taken out to be sent, of which at most a window's worth are alive at once.
 */
export class MessageQueue {
  readonly #slots = new Fifo<unknown>();

  get length(): number {
    return this.#slots.length / 3;
  }

  push(notification: Notification, topic: string, receipt: Receipt): void {
    this.#slots.push(notification);
    this.#slots.push(topic);
    this.#slots.push(receipt);
  }

  shift(): Pending | undefined {
    if (this.#slots.length === 0) return undefined;
    const notification = this.#slots.shift() as Notification;
    const topic = this.#slots.shift() as string;
    return { notification, topic, receipt: this.#slots.shift() as Receipt, via: undefined };
  }

  /** Puts messages back at the front, keeping their order (they are the oldest). */
  unshift(messages: Pending[]): void {
    this.#slots.unshift(...messages.flatMap((m) => [m.notification, m.topic, m.receipt]));
  }

  /** Empties the queue, giving the receipts of what it held, oldest first. */
  drain(): Receipt[] {
    return this.#slots.drain().filter((_, i) => i % 3 === 2) as Receipt[];
  }

  /** Queues the message(s) of one notification, in order. */
  enqueue(notification: Notification, receipt: Receipt, deviceTopics: boolean): void {
    const deviceTopic = deviceTopics ? deviceTopicOf(notification) : undefined;
    const each = deviceTopic ? new Both(receipt) : receipt;
    this.push(notification, notification.topic, each);
    if (deviceTopic) this.push(notification, deviceTopic, each);
  }
}
