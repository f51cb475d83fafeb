/**
 * deploy/mosquitto's size limit (max_packet_size in mosquitto.conf) on a real Mosquitto 2.0,
 * with the real server receiving status reports (MQTT_STATUS_TOPICS=true) over MQTT 3.1.1,
 * which cannot state a limit of its own: a device's oversized packet disconnects it and
 * reaches neither the server nor any subscriber. The rest of the recipe is tested in
 * mosquitto-recipe.test.ts.
 */
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricValue } from "./support/http.js";
import { testKeys } from "./support/keys.js";
import { mosquittoAvailable, subscribe } from "./support/mosquitto.js";
import { type Login, type RecipeBroker, startRecipeBroker } from "./support/mosquitto-recipe.js";
import { type SpawnedServer, spawnServer } from "./support/server.js";
import { recordedReports, STATUS_TOPIC } from "./support/status-reports.js";
import { waitUntil } from "./support/wait.js";

const available = mosquittoAvailable();
const A = "a0-00-00-00-00-0a";
const B = "b0-00-00-00-00-0b";

const connect = (url: string, login: Login): Promise<MqttClient> =>
  mqtt.connectAsync(url, { ...login, protocolVersion: 5, reconnectPeriod: 0 });

describe.skipIf(!available)("deploy/mosquitto: max_packet_size", () => {
  let recipe: RecipeBroker;
  let server: SpawnedServer;
  beforeAll(async () => {
    recipe = await startRecipeBroker([A, B]);
    server = await spawnServer({
      MQTT_URL: recipe.broker.tcpUrl,
      MQTT_USERNAME: recipe.server.username,
      MQTT_PASSWORD: recipe.server.password,
      MQTT_PROTOCOL_VERSION: "4",
      MQTT_STATUS_TOPICS: "true",
      SIGNING_KEY: testKeys().spki,
    });
    await waitUntil("the server subscribed", () =>
      server.lines().some((l) => l.msg === "subscribed to device status reports"),
    );
  });
  afterAll(async () => {
    await server?.cleanup();
    await recipe?.broker.cleanup();
  });

  it("a packet over it disconnects its device and reaches neither the server nor a subscriber", async () => {
    const url = recipe.broker.tcpUrl;
    const watcher = await subscribe(url, ["iotsupport/status/#"], recipe.server);
    const device = await connect(url, recipe.device(A));
    const sender = await connect(url, recipe.device(B));
    const invalidReports = async () =>
      metricValue(await (await fetch(`${server.url}/metrics`)).text(), "iot_device_status_reports_total", {
        state: "invalid",
      });
    try {
      const closed = new Promise<void>((resolve) => device.once("close", () => resolve()));
      device.publish(STATUS_TOPIC(A), JSON.stringify({ state: "ok", message: "x".repeat(70_000) }), { qos: 1 });
      await closed;
      // B's report, sent after it, arriving shows the large one never will.
      const after = '{"state":"ok","message":"after"}';
      await sender.publishAsync(STATUS_TOPIC(B), after, { qos: 1 });
      await watcher.waitFor(1);
      expect(watcher.messages.map((m) => [m.topic, m.payload])).toEqual([[STATUS_TOPIC(B), after]]);
      const stateDir = join(server.dataDir, "state");
      await waitUntil("B's report recorded", async () =>
        (await recordedReports(stateDir)).some((r) => r.report.message === "after"),
      );
      // Had the server received it, it would have counted it invalid (over 4 KiB).
      expect(await invalidReports()).toBe(0);
    } finally {
      device.end(true);
      await sender.endAsync(true);
      await watcher.close();
    }
  });
});
