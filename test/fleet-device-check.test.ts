/**
 * A simulated device's config check after a reconnect, against a real Mosquitto and a real
 * server. Under load the fault suite's broker comes back before every save has been sent,
 * so some devices check a config that is not stored yet: the server's 404 is then its true
 * answer, not an HTTP error (this is what failed `.ci/run` under load). A 404 for a config a
 * notification announced is still an error: the server must serve what it announced.
 */
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOPICS } from "../src/core/sinks/contract.js";
import { createDevice, type Device } from "../tools/fleet/device.js";
import { createDeviceHttp, type DeviceHttp } from "../tools/fleet/device-http.js";
import { macOf } from "../tools/fleet/fleet.js";
import { createHttpErrors, describeHttpErrors, type HttpErrors } from "../tools/fleet/http-errors.js";
import { type Broker, mosquittoAvailable, startBroker } from "./support/mosquitto.js";
import { type SpawnedServer, spawnServer } from "./support/server.js";
import { waitUntil } from "./support/wait.js";

const available = mosquittoAvailable();

describe.skipIf(!available)("fleet simulator, a device's config check", () => {
  let broker: Broker;
  let server: SpawnedServer;
  let http: DeviceHttp;
  let errors: HttpErrors;
  const devices: Device[] = [];

  beforeAll(async () => {
    broker = await startBroker();
    server = await spawnServer({ MQTT_URL: broker.tcpUrl });
  });
  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close()));
    http?.close();
    await server?.cleanup();
    await broker?.cleanup();
  });

  const deviceFor = async (mac: string) => {
    errors = createHttpErrors();
    http?.close();
    http = createDeviceHttp(server.url, 4, errors);
    const device = createDevice({
      mac,
      brokerUrl: broker.tcpUrl,
      mqttVersion: 5,
      perDeviceTopics: false,
      http,
      clientIdPrefix: "check-test",
    });
    devices.push(device);
    await device.connect();
    return device;
  };
  const kinds = () => describeHttpErrors(errors.count(), errors.byKind());

  it("after a reconnect, a config not saved yet is absent (404), not an HTTP error; the save after it is fetched", async () => {
    const mac = macOf(1);
    const { record } = await deviceFor(mac);

    await broker.stop("SIGKILL");
    await broker.start();
    await waitUntil("the device to reconnect and check its config", () => record.fetches.length === 1, 30_000);
    expect(record.fetches.map((f) => f.outcome)).toEqual([404]);
    expect(errors.count(), kinds()).toBe(0);

    await waitUntil("the server's MQTT sink to connect again", async () => {
      const health = (await (await fetch(`${server.url}/api/health`)).json()) as { notifications: { ready: boolean } };
      return health.notifications.ready;
    });
    const res = await fetch(`${server.url}/api/configs/${mac}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ content: { deviceName: "saved after the check" } }),
    });
    expect(res.status).toBe(200);
    await waitUntil("the announced save to be fetched", () => record.fetches.length === 2);
    expect(record.fetches.map((f) => f.outcome)).toEqual([404, 200]);
    const stored = await fetch(`${server.url}/files/configs/${mac}.json`, { method: "HEAD" });
    expect(record.etag).toBe(stored.headers.get("etag"));
    expect(errors.count(), kinds()).toBe(0);
  });

  it("a notification for a config the server does not have is an HTTP error (404 RECORD_NOT_FOUND)", async () => {
    const mac = macOf(2);
    const { record } = await deviceFor(mac);
    // Published straight to the broker, as a server announcing a save it did not store would.
    const publisher = await mqtt.connectAsync(broker.tcpUrl, { clientId: "check-test-publisher", log: () => {} });
    try {
      await publisher.publishAsync(TOPICS.configs, JSON.stringify({ filename: `${mac}.json` }), { qos: 1 });
    } finally {
      await publisher.endAsync();
    }
    await waitUntil("the announced config to be fetched", () => record.fetches.length === 1);
    expect(record.fetches.map((f) => f.outcome)).toEqual(["error"]);
    expect(errors.byKind()).toEqual({ "config fetch: status 404 RECORD_NOT_FOUND": 1 });
  });
});
