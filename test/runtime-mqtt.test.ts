/**
 * The real Node server with the MQTT sink against a real Mosquitto: what devices
 * see on the wire, health while the broker is down, a broker restart during a
 * stream of saves, and SIGTERM with notifications in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testKeys } from "./support/keys.js";
import { type Broker, mosquittoAvailable, startBroker, subscribe } from "./support/mosquitto.js";
import { type SpawnedServer, spawnServer } from "./support/server.js";
import { startTcpProxy } from "./support/tcp-proxy.js";
import { freshTimestamp } from "./support/upload-stream.js";
import { waitUntil } from "./support/wait.js";

const available = mosquittoAvailable();
const mac = (i: number) =>
  `aa-bb-cc-00-${String(Math.floor(i / 100)).padStart(2, "0")}-${String(i % 100).padStart(2, "0")}`;
const put = (url: string, m: string, body: unknown = { content: { deviceName: m } }) =>
  fetch(`${url}/api/configs/${m}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });

async function sinkHealth(server: SpawnedServer) {
  const res = await fetch(`${server.url}/api/health`);
  return { status: res.status, body: (await res.json()) as { notifications: { ready: boolean } } };
}

describe.skipIf(!available)("Node server with the MQTT sink", () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.cleanup();
  });

  it.each(["tcp", "ws"] as const)(
    "notifies over %s exactly per the contract, and never for a delete or a failed request",
    async (transport) => {
      const brokerUrl = transport === "tcp" ? broker.tcpUrl : broker.wsUrl;
      const sub = await subscribe(brokerUrl);
      const server = await spawnServer({ MQTT_URL: brokerUrl });
      try {
        expect((await put(server.url, "AA-BB-CC-DD-EE-FF")).status).toBe(200);
        expect((await put(server.url, "aa-bb-cc-dd-ee-ff", { content: {}, allow_overwrite: false })).status).toBe(409);
        expect((await put(server.url, "aa-bb-cc-dd-ee-00", { content: [] })).status).toBe(400);
        expect((await put(server.url, "not-a-mac")).status).toBe(400);
        expect((await fetch(`${server.url}/api/configs/aa-bb-cc-dd-ee-ff`, { method: "DELETE" })).status).toBe(204);
        const form = new FormData();
        const timestamp = freshTimestamp();
        form.set("timestamp", timestamp);
        form.set("signature", "bm90IGEgc2lnbmF0dXJl");
        form.set("file", new Blob(["x"]), "rejected.bin");
        expect((await fetch(`${server.url}/api/assets`, { method: "POST", body: form })).status).toBe(400);
        // A last save as a sentinel: notifications travel in order on one connection, so once
        // the sentinel's has arrived, any notification of the requests before it would have too.
        expect((await put(server.url, "aa-bb-cc-dd-ee-01")).status).toBe(200);
        await sub.waitFor(2);
        const config = (filename: string) => ({
          topic: "iotsupport/updates/configs",
          payload: JSON.stringify({ filename }),
          qos: 1,
          retain: false,
        });
        expect(sub.messages.map(({ topic, payload, qos, retain }) => ({ topic, payload, qos, retain }))).toEqual([
          config("aa-bb-cc-dd-ee-ff.json"),
          config("aa-bb-cc-dd-ee-01.json"),
        ]);
      } finally {
        await sub.close();
        await server.cleanup();
      }
    },
  );

  it("notifies on a signed upload", async () => {
    const keys = testKeys();
    const sub = await subscribe(broker.tcpUrl);
    const server = await spawnServer({ MQTT_URL: broker.tcpUrl, SIGNING_KEY: keys.spki });
    try {
      const form = new FormData();
      const timestamp = freshTimestamp();
      form.set("timestamp", timestamp);
      form.set("signature", keys.sign(timestamp));
      form.set("file", new Blob(["firmware"]), "fw-2.0.bin");
      expect((await fetch(`${server.url}/api/assets`, { method: "POST", body: form })).status).toBe(200);
      const [message] = await sub.waitFor(1);
      expect(message).toMatchObject({
        topic: "iotsupport/updates/assets",
        payload: '{"filename":"fw-2.0.bin"}',
        qos: 1,
        retain: false,
      });
    } finally {
      await sub.close();
      await server.cleanup();
    }
  });

  it("stays healthy while the broker is down, showing the sink as not ready", async () => {
    const own = await startBroker();
    const server = await spawnServer({ MQTT_URL: own.tcpUrl });
    try {
      // `listening` is logged before the broker's CONNACK arrives: wait for readiness, do not assume it.
      await waitUntil("the sink to connect", async () => (await sinkHealth(server)).body.notifications.ready);
      await own.stop();
      const down = await waitUntil("the sink to notice the broker is gone", async () => {
        const health = await sinkHealth(server);
        return health.body.notifications.ready ? undefined : health;
      });
      expect(down.status).toBe(200);
      expect(down.body.notifications).toMatchObject({ sink: "mqtt", ready: false });
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toContain('iot_notification_sink_ready{sink="mqtt"} 0');
    } finally {
      await server.cleanup();
      await own.cleanup();
    }
  });

  it("answers every save while the broker is killed and restarted, then delivers every queued notification", async () => {
    const own = await startBroker();
    // The server reaches the broker through a proxy, so that after the restart its link can be held
    // until the test's subscriber has subscribed again: the restarted broker keeps no sessions, and a
    // notification it accepts before then would be delivered to nobody (a race of the test, not the server).
    const link = await startTcpProxy(own.tcpPort);
    const sub = await subscribe(own.tcpUrl);
    const server = await spawnServer({ MQTT_URL: link.url });
    try {
      const statuses: number[] = [];
      let saved = 0;
      // Sequential on purpose: saves 50-99 are answered while the broker is dead and is only
      // restarted after them, so a save that waited for the broker would hang this loop.
      for (let i = 0; i < 150; i++) {
        if (i === 50) await own.stop("SIGKILL");
        if (i === 100) {
          link.setBlocked(true);
          await own.start();
          await waitUntil("the subscriber to reconnect", () => sub.client.connected);
          await sub.client.subscribeAsync(["iotsupport/#"], { qos: 1 });
          link.setBlocked(false);
        }
        const res = await put(server.url, mac(i));
        statuses.push(res.status);
        if (res.status === 200) saved++;
      }
      expect(statuses.every((s) => s === 200)).toBe(true);
      // Count unique deliveries (QoS 1 is at-least-once); a shortfall fails below with the figures.
      const unique = () => new Set(sub.messages.map((m) => m.payload)).size;
      await waitUntil("every notification", () => unique() >= saved).catch(() => undefined);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      const dropped = Number(
        /iot_notifications_published_total\{[^}]*outcome="dropped"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0,
      );
      console.log(`broker restart: saved ${saved}, delivered ${unique()} unique, dropped ${dropped}`);
      expect(dropped).toBe(0);
      expect(unique()).toBe(saved);
    } finally {
      await sub.close();
      await server.cleanup();
      await link.close();
      await own.cleanup();
    }
  });

  it("on SIGTERM with 100 notifications in flight, has every one acknowledged before exit", async () => {
    const own = await startBroker();
    const sub = await subscribe(own.tcpUrl);
    const server = await spawnServer({ MQTT_URL: own.tcpUrl, MQTT_FLUSH_TIMEOUT_MS: "10000" });
    try {
      // Freeze the broker so that the notifications are really in flight when SIGTERM arrives.
      own.signal("SIGSTOP");
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => put(server.url, mac(1000 + i))));
      expect(results.every((r) => r.status === 200)).toBe(true);
      const exit = server.stop("SIGTERM");
      // Thaw the broker only once the drain has counted what is pending, however slow the machine.
      await waitUntil("the drain to start", () => server.lines().some((l) => l.msg === "flushing notifications"));
      own.signal("SIGCONT");
      expect(await exit).toBe(0);
      const flushed = server.lines().find((l) => l.msg === "notifications flushed");
      expect(flushed).toMatchObject({
        pending_at_shutdown: 100,
        success: 100,
        abandoned: 0,
        since_start: { success: 100, failure: 0, dropped: 0, skipped: 0 },
      });
      await sub.waitFor(100);
      expect(new Set(sub.messages.map((m) => m.payload)).size).toBe(100);
    } finally {
      own.signal("SIGCONT");
      await sub.close();
      await server.cleanup();
      await own.cleanup();
    }
  });

  it("on SIGTERM after a busy but now quiet run, says what its numbers cover: none pending, the run's total since start", async () => {
    const own = await startBroker();
    const sub = await subscribe(own.tcpUrl);
    const server = await spawnServer({ MQTT_URL: own.tcpUrl });
    try {
      await waitUntil("the sink to connect", async () => (await sinkHealth(server)).body.notifications.ready);
      const results = await Promise.all(Array.from({ length: 3 }, (_, i) => put(server.url, mac(3000 + i))));
      expect(results.every((r) => r.status === 200)).toBe(true);
      await sub.waitFor(3);
      await waitUntil(
        "the acknowledgements",
        async () => ((await sinkHealth(server)).body.notifications as { pending?: number }).pending === 0,
      );
      expect(await server.stop("SIGTERM")).toBe(0);
      expect(server.lines().find((l) => l.msg === "notifications flushed")).toMatchObject({
        pending_at_shutdown: 0,
        success: 0,
        abandoned: 0,
        since_start: { success: 3, failure: 0, dropped: 0, skipped: 0 },
      });
    } finally {
      await sub.close();
      await server.cleanup();
      await own.cleanup();
    }
  });

  it("reports the exact number abandoned when the flush deadline passes", async () => {
    const own = await startBroker();
    const server = await spawnServer({ MQTT_URL: own.tcpUrl, MQTT_FLUSH_TIMEOUT_MS: "500" });
    try {
      await own.stop();
      const results = await Promise.all(Array.from({ length: 7 }, (_, i) => put(server.url, mac(2000 + i))));
      expect(results.every((r) => r.status === 200)).toBe(true);
      expect(await server.stop("SIGTERM")).toBe(0);
      expect(server.lines().find((l) => l.msg === "notifications flushed")).toMatchObject({
        pending_at_shutdown: 7,
        success: 0,
        abandoned: 7,
      });
    } finally {
      await server.cleanup();
      await own.cleanup();
    }
  });

  it("boots with wrong credentials: one clear log line, not ready, healthy, no password printed", async () => {
    const secure = await startBroker({ users: { fleet: "right-password" } });
    const server = await spawnServer({
      MQTT_URL: secure.tcpUrl,
      MQTT_USERNAME: "fleet",
      MQTT_PASSWORD: "wrong-password-123",
      MQTT_FLUSH_TIMEOUT_MS: "300",
      // Repeated refusals are logged at debug level only; the test waits for one of them.
      LOG_LEVEL: "debug",
    });
    try {
      await waitUntil("the refusal to be logged", () => server.lines().some((l) => l.level === "error"));
      // Logged once, not once per attempt: let a few more reconnects be refused first.
      await waitUntil("three refused attempts", () =>
        server.lines().some((l) => l.msg === "MQTT connection error (repeated)"),
      );
      const health = await sinkHealth(server);
      expect(health.status).toBe(200);
      expect(health.body.notifications).toMatchObject({ sink: "mqtt", ready: false });
      expect((await put(server.url, mac(3000))).status).toBe(200);
      const errors = server.lines().filter((l) => l.level === "error");
      expect(errors).toHaveLength(1);
      expect(String(errors[0]?.msg)).toContain("MQTT_USERNAME");
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      await server.stop();
      expect(server.output() + metrics).not.toContain("wrong-password-123");
    } finally {
      await server.cleanup();
      await secure.cleanup();
    }
  });
});
