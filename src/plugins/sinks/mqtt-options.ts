/**
 * MQTT_URL and the MQTT_* settings → mqtt.js connection options. Credentials are
 * taken out of the URL here so that the URL we keep (and may log) has none.
 */
import type { IClientOptions } from "mqtt";
import { redactUrl } from "../../core/settings.js";
import type { MqttOptions } from "./mqtt-settings.js";

export const MQTT_SCHEMES = ["mqtt", "mqtts", "ws", "wss"] as const;
export const TCP_SCHEMES = new Set(["mqtt", "mqtts"]);
/**
 * With MQTT_STATUS_TOPICS on MQTT 5, the largest packet the broker may send the server: a
 * device's report is at most 4 KiB, and a device must not be able to make the server hold a
 * large message (the broker drops it for us instead). MQTT 3.1.1 cannot say it: the broker's
 * own limit does (deploy/mosquitto: max_packet_size).
 */
export const RECEIVE_MAX_PACKET_BYTES = 65_536;

export interface MqttTarget {
  /** The broker URL without credentials: what mqtt.js connects to. */
  url: string;
  /** Safe to log. */
  display: string;
  options: IClientOptions;
}

const randomId = () => {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
};

const decode = (text: string) => {
  try {
    return decodeURIComponent(text);
  } catch {
    // Not valid percent-encoding: the user meant the characters literally.
    return text;
  }
};

export function mqttTarget(url: URL, options: MqttOptions): MqttTarget {
  const bare = new URL(url.href);
  const username = options.username ?? (url.username ? decode(url.username) : undefined);
  const password = options.password ?? (url.password ? decode(url.password) : undefined);
  bare.username = "";
  bare.password = "";
  const secure = bare.protocol === "mqtts:" || bare.protocol === "wss:";
  return {
    url: bare.href,
    display: redactUrl(url) ?? bare.href,
    options: {
      protocolVersion: options.protocolVersion,
      clientId: options.clientId ?? `iotsupport-${randomId()}`,
      username,
      password,
      clean: true,
      keepalive: options.keepaliveSeconds,
      // A PINGREQ every keepalive whatever else flows, rather than mqtt.js clearing and setting
      // its timer again on every PUBACK: that was ~2 % of a busy hub's CPU (bench/worker-hub.ts
      // profile). A dead link is still found by the unanswered ping, as before.
      reschedulePings: false,
      connectTimeout: 10_000,
      // Reconnection is ours: a fresh client per connection, so mqtt.js never replays
      // (or silently loses) its own copy of a message we already re-queued.
      reconnectPeriod: 0,
      queueQoSZero: false,
      ...(options.statusTopics && options.protocolVersion === 5
        ? { properties: { maximumPacketSize: RECEIVE_MAX_PACKET_BYTES } }
        : {}),
      ...(secure ? { ca: options.ca, rejectUnauthorized: !options.tlsInsecure } : {}),
    },
  };
}
