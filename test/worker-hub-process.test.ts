/**
 * The notification hub as a Worker of its own (wrangler.hub.toml), in its own `wrangler dev`
 * session, so its Durable Object runs in another workerd process than the API Worker
 * (wrangler.toml, NOTIFY_HUB bound with `script_name`), as it runs apart when deployed. A real
 * Mosquitto over WebSockets. A PUT on the API Worker reaches a subscriber through the hub in
 * the other process, in order, and the API Worker's /metrics shows the hub's counts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { metricValue } from "./support/http.js";
import { testKeys } from "./support/keys.js";
import { mosquittoAvailable, startBroker, subscribe } from "./support/mosquitto.js";
import { waitUntil } from "./support/wait.js";
import { startHubPair } from "./support/worker-hub-pair.js";

const withBroker = mosquittoAvailable();
const keys = testKeys();
const DELIVERED = { sink: "mqtt", topic: "iotsupport/updates/configs", outcome: "success" };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(!withBroker)("the notification hub as a Worker of its own, in another wrangler dev session", () => {
  it("saves on the API Worker are notified through the hub in the other process, in order, and counted", async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.cleanup());
    const sub = await subscribe(broker.wsUrl, ["iotsupport/updates/configs"]);
    cleanups.push(() => sub.close());
    const pair = await startHubPair({ SIGNING_KEY: keys.pkcs1, MQTT_URL: broker.wsUrl });
    cleanups.push(() => pair.cleanup());

    const macs = Array.from({ length: 10 }, (_, i) => `ac-00-00-00-00-${String(i).padStart(2, "0")}`);
    for (const mac of macs) {
      const res = await pair.api.fetch(`/api/configs/${mac}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ content: { deviceName: mac } }),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    await waitUntil("every save's notification", () => sub.messages.length >= macs.length);
    expect(sub.messages.map((m) => m.payload)).toEqual(macs.map((mac) => `{"filename":"${mac}.json"}`));

    // The object ran in the hub's session, not in the API Worker's.
    const started = (lines: Array<Record<string, unknown>>) =>
      lines.filter((l) => l.msg === "notification hub started").length;
    expect(started(pair.hub.lines())).toBe(1);
    expect(started(pair.api.lines())).toBe(0);

    // The API Worker's /metrics reads the hub's sink families by RPC across the sessions.
    const delivered = await waitUntil("the hub's count of deliveries", async () => {
      const text = await (await pair.api.fetch("/metrics")).text();
      const n = metricValue(text, "iot_notifications_published_total", DELIVERED);
      return n >= macs.length ? n : undefined;
    });
    expect(delivered).toBe(macs.length);

    // The hub Worker serves no routes: a plain request is answered 404 in the API's error shape.
    const plain = await pair.hub.fetch("/api/health");
    expect(plain.status).toBe(404);
    expect(await plain.json()).toMatchObject({ code: "ROUTE_NOT_FOUND", status: 404 });
  }, 120_000);
});
