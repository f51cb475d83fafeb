/**
 * The MQTT sink's own settings: declared here, validated here, documented from here (the
 * README's settings table is generated from this list), and redacted where secret.
 * Core knows none of them.
 */
import { z } from "zod";
import type { SettingsOf } from "../../core/setting-spec.js";
import { bool, int, optionalText, pem } from "../../core/setting-types.js";

export const MQTT_SETTINGS = {
  MQTT_USERNAME: {
    schema: optionalText,
    description:
      "broker user name (overrides one in the URL, where it must be percent-encoded); redacted in logs, as some brokers take a token here",
    secret: true,
  },
  MQTT_PASSWORD: {
    schema: optionalText,
    description: "broker password (overrides one in the URL, where it must be percent-encoded)",
    secret: true,
  },
  MQTT_CLIENT_ID: {
    schema: optionalText,
    description:
      "MQTT client identifier (with `MQTT_STATUS_TOPICS=true`, the reports' own connection uses it with `-status` appended)",
    defaultText: "`iotsupport-<random>` per process",
  },
  MQTT_PROTOCOL_VERSION: {
    schema: z.enum(["4", "5"], { message: "must be 4 or 5" }).transform(Number).default(5),
    description: "`5` or `4` (MQTT 3.1.1)",
    defaultText: "`5`",
  },
  MQTT_QUEUE_LIMIT: {
    schema: int(0).default(1000),
    description:
      "notifications kept while the broker is unreachable; past it the oldest are dropped and counted (while connected, up to 100,000 or this, if larger, wait for the broker's acknowledgements)",
    defaultText: "`1000`",
  },
  MQTT_KEEPALIVE_SECONDS: {
    schema: int(1, 65535).default(30),
    description: "keep-alive interval; a silent broker is found out after about 1.5× this",
    defaultText: "`30`",
  },
  MQTT_ACK_TIMEOUT_MS: {
    schema: int(100).default(10_000),
    description: "a PUBACK not received in this time marks the connection dead: it is recycled and the message re-sent",
    defaultText: "`10000`",
  },
  MQTT_MAX_INFLIGHT: {
    schema: int(1, 65535).default(20),
    description: "most unacknowledged publishes at once (also capped by the broker's Receive Maximum)",
    defaultText: "`20`",
  },
  MQTT_CA_FILE: {
    schema: optionalText,
    description:
      "a PEM file of extra CA certificate(s) to trust for `mqtts://`/`wss://`: a private CA or a self-signed broker (needs a filesystem)",
  },
  MQTT_CA: { schema: pem.optional(), description: "the same CA certificate(s) as PEM text" },
  MQTT_DEVICE_TOPICS: {
    schema: bool.default(false),
    description:
      "`true` also publishes each config notification to `iotsupport/updates/configs/<mac>`, so a device can subscribe to its own topic",
    defaultText: "`false`",
  },
  MQTT_STATUS_TOPICS: {
    schema: bool.default(false),
    description:
      "`true` also subscribes to `iotsupport/status/+` (QoS 1) and records each device's status report published there; needs an MQTT sink",
    defaultText: "`false`",
  },
  MQTT_TLS_INSECURE: {
    schema: bool.default(false),
    description: "`true` skips TLS certificate verification (home labs only; logged as a warning)",
    defaultText: "`false`",
  },
} as const;

export type MqttSettings = SettingsOf<typeof MQTT_SETTINGS>;

/** What the MQTT sink works from (its settings, with the CA read from its file where one was named). */
export interface MqttOptions {
  username?: string;
  password?: string;
  clientId?: string;
  protocolVersion: 4 | 5;
  queueLimit: number;
  /** Seconds between keep-alive pings; a silent broker is detected after about 1.5× this. */
  keepaliveSeconds: number;
  /** How long to wait for a PUBACK before the connection is deemed dead and recycled. */
  ackTimeoutMs: number;
  /** Most unacknowledged publishes at once (further capped by the broker's Receive Maximum). */
  maxInflight: number;
  /** Extra CA certificate(s) in PEM to trust on mqtts/wss (self-signed or private CA brokers). */
  ca?: string;
  /** Skip TLS certificate verification (home labs only; logged as a warning). */
  tlsInsecure: boolean;
  /** Also publish config notifications to the device's own topic. */
  deviceTopics?: boolean;
  /** Also receive devices' status reports on `iotsupport/status/<mac>`. */
  statusTopics?: boolean;
}

export function mqttOptions(settings: MqttSettings, ca: string | undefined): MqttOptions {
  return {
    username: settings.MQTT_USERNAME,
    password: settings.MQTT_PASSWORD,
    clientId: settings.MQTT_CLIENT_ID,
    protocolVersion: settings.MQTT_PROTOCOL_VERSION as 4 | 5,
    queueLimit: settings.MQTT_QUEUE_LIMIT,
    keepaliveSeconds: settings.MQTT_KEEPALIVE_SECONDS,
    ackTimeoutMs: settings.MQTT_ACK_TIMEOUT_MS,
    maxInflight: settings.MQTT_MAX_INFLIGHT,
    ca: ca ?? settings.MQTT_CA,
    tlsInsecure: settings.MQTT_TLS_INSECURE,
    deviceTopics: settings.MQTT_DEVICE_TOPICS,
    statusTopics: settings.MQTT_STATUS_TOPICS,
  };
}
