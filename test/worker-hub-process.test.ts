/**
 * The notification hub as a Worker of its own (wrangler.hub.toml), in its own `wrangler dev`
 * session, so its Durable Object runs in another workerd process than the API Worker
 * (wrangler.toml, NOTIFY_HUB bound with `script_name`), as it runs apart when deployed. A real
 * Mosquitto over WebSockets. A PUT on the API Worker reaches a subscriber through the hub in
 * the other process, in order, and the API Worker's /metrics shows the hub's counts. The hub's
 * session restarted with notifications queued (the hub's link to the broker cut): the API Worker
 * reaches the new session, and every notification is delivered once the link is back.
 */
import { afterEach, describe, expect, it } from "vitest";
import { metricValue } from "./support/http.js";
import { testKeys } from "./support/keys.js";
import { mosquittoAvailable, startBroker, subscribe } from "./support/mosquitto.js";
import { startTcpProxy } from "./support/tcp-proxy.js";
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

  it("the hub's session restarted with notifications queued: the API Worker reaches the new one, nothing is lost", async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.cleanup());
    const link = await startTcpProxy(broker.wsPort, "ws");
    cleanups.push(() => link.close());
    const sub = await subscribe(broker.wsUrl, ["iotsupport/updates/configs"]);
    cleanups.push(() => sub.close());
    const pair = await startHubPair({ SIGNING_KEY: keys.pkcs1, MQTT_URL: link.url });
    cleanups.push(() => pair.cleanup());
    const save = async (i: number) => {
      const mac = `ad-00-00-00-01-${String(i).padStart(2, "0")}`;
      const res = await pair.api.fetch(`/api/configs/${mac}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ content: { deviceName: mac } }),
      });
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      return `{"filename":"${mac}.json"}`;
    };
    const queued = async () => {
      const text = await (await pair.api.fetch("/metrics")).text();
      return metricValue(text, "iot_notification_queue_depth", { sink: "mqtt" });
    };

    const wanted = [await save(0)];
    await waitUntil("the first delivered", () => sub.messages.length === 1);
    link.setBlocked(true);
    for (let i = 1; i <= 5; i++) wanted.push(await save(i));
    await waitUntil("five held in the hub's queue", async () => (await queued()) === 5);

    const hub = await pair.restartHub();
    await waitUntil("the new hub session to reload its queue", () =>
      hub.lines().some((l) => l.msg === "notification hub started" && l.queued === 5),
    );
    // Handed to the new session: the API Worker's session found it through the dev registry.
    for (let i = 6; i <= 8; i++) wanted.push(await save(i));
    await waitUntil("eight held in the new hub's queue", async () => (await queued()) === 8);
    link.setBlocked(false);
    await waitUntil(
      "every save's notification",
      () => wanted.every((w) => sub.messages.some((m) => m.payload === w)),
      30_000,
    );
    // In order: the reloaded queue first, then what came after the restart.
    const firsts = [...new Set(sub.messages.map((m) => m.payload))];
    expect(firsts).toEqual(wanted);
  }, 180_000);
});
