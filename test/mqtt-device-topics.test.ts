/**
 * Fleet-scale notifications against a real Mosquitto: with MQTT_DEVICE_TOPICS a device
 * subscribed to its own topic gets one message per save of its own config (not one per
 * save in the fleet), and on MQTT 5 every message carries the stored bytes' sha256, size
 * and ETag as user properties, matching what the device read then serves.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Broker, mosquittoAvailable, startBroker, subscribe } from "./support/mosquitto.js";
import { spawnServer } from "./support/server.js";
import { waitUntil } from "./support/wait.js";

const available = mosquittoAvailable();
const A = "a0-00-00-00-00-0a";
const B = "b0-00-00-00-00-0b";
const put = (url: string, mac: string, deviceName: string) =>
  fetch(`${url}/api/configs/${mac}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ content: { deviceName } }),
  });

describe.skipIf(!available)("per-device topics and integrity properties", () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.cleanup();
  });

  it.each([5, 4] as const)(
    "MQTT %i: one message per own save on the device topic; properties on MQTT 5 only",
    async (version) => {
      const server = await spawnServer({
        MQTT_URL: broker.tcpUrl,
        MQTT_DEVICE_TOPICS: "true",
        MQTT_PROTOCOL_VERSION: String(version),
      });
      const device = await subscribe(broker.tcpUrl, [`iotsupport/updates/configs/${A}`]);
      const fleet = await subscribe(broker.tcpUrl, ["iotsupport/updates/configs"]);
      try {
        await waitUntil("the sink to connect", async () => {
          const health = (await (await fetch(`${server.url}/api/health`)).json()) as {
            notifications: { ready: boolean };
          };
          return health.notifications.ready;
        });
        for (const [mac, name] of [
          [A, "one"],
          [B, "two"],
          [B, "three"],
          [A, "four"],
        ] as const) {
          expect((await put(server.url, mac, name)).status).toBe(200);
        }
        // The shared topic gets all four, in order; once the last is there, the device topic's two are too.
        await fleet.waitFor(4);
        await waitUntil("the device's two messages", () => device.messages.length >= 2);
        expect(fleet.messages.map((m) => m.payload)).toEqual(
          [A, B, B, A].map((mac) => JSON.stringify({ filename: `${mac}.json` })),
        );
        expect(device.messages.map((m) => [m.topic, m.payload])).toEqual([
          [`iotsupport/updates/configs/${A}`, JSON.stringify({ filename: `${A}.json` })],
          [`iotsupport/updates/configs/${A}`, JSON.stringify({ filename: `${A}.json` })],
        ]);
        expect(device.messages.every((m) => m.qos === 1 && !m.retain)).toBe(true);

        const read = await fetch(`${server.url}/files/configs/${A}.json`);
        const bytes = new Uint8Array(await read.arrayBuffer());
        const last = device.messages.at(-1);
        if (version === 5) {
          const sha256 = createHash("sha256").update(bytes).digest("hex");
          expect(last?.userProperties).toEqual({ sha256, size: String(bytes.length), etag: `"${sha256}"` });
          expect(read.headers.get("etag")).toBe(`"${sha256}"`);
        } else {
          expect(last?.userProperties).toBeUndefined();
        }
      } finally {
        await device.close();
        await fleet.close();
        await server.cleanup();
      }
    },
  );
});
