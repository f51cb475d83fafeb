/**
 * A real MQTT subscriber for tests (MQTT 5, QoS 1, reconnecting): collects every message
 * it receives, with its MQTT 5 user properties. test/support/mosquitto.ts re-exports it.
 */
import mqtt, { type MqttClient } from "mqtt";

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  at: number;
  /** MQTT 5 user properties, when the message carried any. */
  userProperties?: Record<string, string | string[]>;
}

/** A real subscriber on `#`-style topics; collects every message it receives. */
export async function subscribe(
  url: string,
  topics: string[] = ["iotsupport/#"],
  auth: { username?: string; password?: string } = {},
): Promise<{
  client: MqttClient;
  messages: Received[];
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}> {
  const client = mqtt.connect(url, { ...auth, protocolVersion: 5, reconnectPeriod: 200 });
  const messages: Received[] = [];
  client.on("message", (topic, payload, packet) => {
    messages.push({
      topic,
      payload: payload.toString(),
      qos: packet.qos,
      retain: packet.retain,
      at: performance.now(),
      ...(packet.properties?.userProperties ? { userProperties: packet.properties.userProperties } : {}),
    });
  });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  await client.subscribeAsync(topics, { qos: 1 });
  return {
    client,
    messages,
    async waitFor(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return messages;
    },
    close: () => client.endAsync(true),
  };
}
