/**
 * The Worker under workerd, started as `npm run dev:worker` starts it (`wrangler dev
 * --local`, local R2, the notification hub bound): the shared HTTP contract with MQTT over
 * ws to a private Mosquitto; notifications sent after the response through the hub's one
 * connection, or, without the hub's binding, on a connection per request. Boot failures
 * are in test/worker-boot-failures.test.ts. workerd comes with the npm
 * dependencies, so nothing here is skipped for lack of it; only the broker parts skip
 * without Mosquitto, and not under CI. The hub under faults (broker cut, restarts) is in
 * test/faults/worker-hub.test.ts.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authModes, withCredentials } from "./support/auth-modes.js";
import { CONTRACT_MAX_UPLOAD_BYTES, httpContract } from "./support/contract.js";
import { metricValue } from "./support/http.js";
import { testKeys } from "./support/keys.js";
import { type Broker, mosquittoAvailable, startBroker, subscribe } from "./support/mosquitto.js";
import { freshTimestamp } from "./support/upload-stream.js";
import { sleep, waitUntil } from "./support/wait.js";
import { type ConnectionCounter, startConnectionCounter } from "./support/worker-connection-counter.js";
import { ROOT, startWorkerDev, type WorkerDev } from "./support/worker-dev.js";

const keys = testKeys();
const withBroker = mosquittoAvailable();
const put = (worker: WorkerDev, mac: string) =>
  worker.fetch(`/api/configs/${mac}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ content: { deviceName: mac } }),
  });
const payloadOf = (mac: string) => `{"filename":"${mac}.json"}`;

let broker: Broker | undefined;
/** In front of the broker for the Worker with the hub, and for the one without. */
let counter: ConnectionCounter | undefined;
let perRequestCounter: ConnectionCounter | undefined;
let worker: WorkerDev;
beforeAll(async () => {
  if (withBroker) {
    broker = await startBroker();
    // The Worker reaches the broker through a relay that counts its connections.
    counter = await startConnectionCounter(broker.wsPort);
    perRequestCounter = await startConnectionCounter(broker.wsPort);
  }
  worker = await startWorkerDev({
    MAX_UPLOAD_BYTES: String(CONTRACT_MAX_UPLOAD_BYTES),
    SIGNING_KEY: keys.pkcs1,
    ...(counter ? { MQTT_URL: counter.url } : {}),
  });
}, 120_000);
afterAll(async () => {
  await worker?.cleanup();
  await counter?.close();
  await perRequestCounter?.close();
  await broker?.cleanup();
});

/**
 * Like Cloudflare's edge, the local runtime gzips application/json for clients that accept
 * it, which drops Content-Length (and on the edge weakens the ETag). Devices do not ask
 * for gzip; neither does this target, unless a test sets Accept-Encoding itself.
 */
const asDevice = (init: RequestInit = {}): RequestInit => {
  const headers = new Headers(init.headers);
  if (!headers.has("accept-encoding")) headers.set("accept-encoding", "identity");
  return { ...init, headers };
};

httpContract(
  "Cloudflare Worker under workerd (wrangler dev --local), R2, MQTT over ws via the hub, anonymous",
  async () => ({
    fetch: (path, init) => worker.fetch(path, asDevice(init)),
    sign: keys.sign,
    brokerWsUrl: broker?.wsUrl,
    // Stopped in afterAll: the tests below use the same Worker.
    close: async () => {},
  }),
);

// The authenticated modes, each on a Worker of its own; the OIDC issuer is reached over HTTP from workerd.
for (const mode of authModes().filter((m) => m.name !== "anonymous")) {
  httpContract(
    `Cloudflare Worker under workerd (wrangler dev --local), R2, MQTT over ws via the hub, ${mode.name}`,
    async () => {
      const authed = await startWorkerDev({
        ...mode.env(),
        ALLOW_ANONYMOUS_ADMIN: "false",
        MAX_UPLOAD_BYTES: String(CONTRACT_MAX_UPLOAD_BYTES),
        SIGNING_KEY: keys.pkcs1,
        ...(broker ? { MQTT_URL: broker.wsUrl } : {}),
      });
      const target = {
        fetch: (path: string, init?: RequestInit) => authed.fetch(path, asDevice(init)),
        sign: keys.sign,
        brokerWsUrl: broker?.wsUrl,
        close: authed.cleanup,
      };
      return withCredentials(target, mode);
    },
  );
}

describe.skipIf(!withBroker)("Worker notifications through the notification hub", () => {
  it("sends every save's notification after its response, over the hub's one connection, kept open", async () => {
    const relay = counter as ConnectionCounter;
    const sub = await subscribe((broker as Broker).wsUrl, ["iotsupport/updates/#"]);
    try {
      // The first save may start the hub and its connection; none after it opens another.
      expect((await put(worker, "ab-01-00-00-00-00")).status).toBe(200);
      await waitUntil("the first notification", () =>
        sub.messages.some((m) => m.payload === payloadOf("ab-01-00-00-00-00")),
      );
      const opened = relay.opened();
      // Saved one after the other, without waiting for their notifications: they arrive in the same order.
      // (Whether one arrives before or after its response is a race now: the hub answers in a few ms.)
      const sequence = [1, 2, 3, 4, 5].map((i) => `ab-01-00-00-00-0${i}`);
      for (const mac of sequence) {
        const res = await put(worker, mac);
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
      await waitUntil("the five notifications", () =>
        sequence.every((mac) => sub.messages.some((m) => m.payload === payloadOf(mac))),
      );
      const arrived = sub.messages.map((m) => m.payload).filter((p) => sequence.some((mac) => p === payloadOf(mac)));
      expect([...new Set(arrived)]).toEqual(sequence.map(payloadOf));
      const macs = Array.from({ length: 20 }, (_, i) => `ab-02-00-00-00-${String(i).padStart(2, "0")}`);
      const statuses = await Promise.all(
        macs.map(async (mac) => {
          const res = await put(worker, mac);
          await res.arrayBuffer();
          return res.status;
        }),
      );
      expect(statuses.every((s) => s === 200)).toBe(true);
      await waitUntil("all 20 concurrent notifications", () =>
        macs.every((mac) => sub.messages.some((m) => m.payload === payloadOf(mac))),
      );
      expect(relay.opened(), "connections opened after the first save").toBe(opened);
      expect(relay.open(), "the hub's connection stays open").toBe(1);
    } finally {
      await sub.close();
    }
  });

  it("/metrics: the request families of the isolate and the sink families of the hub, each once", async () => {
    const sub = await subscribe((broker as Broker).wsUrl, ["iotsupport/updates/#"]);
    try {
      const before = await (await worker.fetch("/metrics")).text();
      const delivered = (text: string) =>
        metricValue(text, "iot_notifications_published_total", {
          sink: "mqtt",
          topic: "iotsupport/updates/configs",
          outcome: "success",
        });
      const macs = ["ab-03-00-00-00-00", "ab-03-00-00-00-01", "ab-03-00-00-00-02"];
      for (const mac of macs) expect((await put(worker, mac)).status).toBe(200);
      await waitUntil("three notifications", () =>
        macs.every((mac) => sub.messages.some((m) => m.payload === payloadOf(mac))),
      );
      // The hub counts a delivery on the PUBACK, which the subscriber may see a moment before it.
      const after = await waitUntil("the hub to count three deliveries", async () => {
        const text = await (await worker.fetch("/metrics")).text();
        return delivered(text) >= delivered(before) + 3 ? text : undefined;
      });
      for (const family of [
        "iot_notifications_published_total",
        "iot_notification_ack_duration_seconds",
        "iot_notification_sink_ready",
        "iot_notification_queue_depth",
        "iot_http_requests_total",
        "iot_config_operations_total",
      ]) {
        expect(
          after.split("\n").filter((line) => line.startsWith(`# TYPE ${family} `)),
          family,
        ).toHaveLength(1);
      }
      expect(metricValue(after, "iot_notification_sink_ready", { sink: "mqtt" })).toBe(1);
      expect(
        metricValue(after, "iot_http_requests_total", { method: "PUT", route: "/api/configs/:mac", status: "200" }),
      ).toBeGreaterThanOrEqual(3);
      const health = (await (await worker.fetch("/api/health")).json()) as { notifications: Record<string, unknown> };
      expect(health.notifications).toMatchObject({ sink: "mqtt", ready: true });
    } finally {
      await sub.close();
    }
  });
});

describe.skipIf(!withBroker)("Worker notifications per request (no NOTIFY_HUB binding)", () => {
  let perRequest: WorkerDev;
  beforeAll(async () => {
    perRequest = await startWorkerDev(
      { SIGNING_KEY: keys.pkcs1, MQTT_URL: (perRequestCounter as ConnectionCounter).url },
      { hub: false },
    );
  }, 120_000);
  afterAll(async () => {
    await perRequest?.cleanup();
  });

  it("sends each notification after its response, on a connection of its own, closed once acknowledged", async () => {
    const relay = perRequestCounter as ConnectionCounter;
    const sub = await subscribe((broker as Broker).wsUrl, ["iotsupport/updates/#"]);
    try {
      for (let i = 0; i < 5; i++) {
        const mac = `ab-00-00-00-00-0${i}`;
        const opened = relay.opened();
        const res = await put(perRequest, mac);
        const respondedAt = performance.now();
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        const payload = `{"filename":"${mac}.json"}`;
        const deadline = Date.now() + 10_000;
        while (!sub.messages.some((m) => m.payload === payload) && Date.now() < deadline) await sleep(5);
        const message = sub.messages.find((m) => m.payload === payload);
        expect(message, "notification received").toBeDefined();
        // Had the Worker waited for the PUBACK before answering, the subscriber would have had it first.
        expect(message!.at).toBeGreaterThan(respondedAt);
        expect(relay.opened()).toBe(opened + 1);
      }
      const closedBy = Date.now() + 5000;
      while (relay.open() > 0 && Date.now() < closedBy) await sleep(10);
      expect(relay.open(), "connections left open").toBe(0);
      // Reads open no connection: after two reads and one save, exactly one more was opened (the
      // save's, seen once its notification has arrived, so nothing the reads started can still be pending).
      const opened = relay.opened();
      expect((await perRequest.fetch("/api/configs")).status).toBe(200);
      expect((await perRequest.fetch("/api/health")).status).toBe(200);
      expect((await put(perRequest, "ab-00-00-00-00-ff")).status).toBe(200);
      await waitUntil("the sentinel's notification", () =>
        sub.messages.some((m) => m.payload === '{"filename":"ab-00-00-00-00-ff.json"}'),
      );
      expect(relay.opened()).toBe(opened + 1);
      // The PUBACKs were counted by the metrics decorator, inside the requests' waitUntil.
      const metrics = await (await perRequest.fetch("/metrics")).text();
      const delivered =
        /iot_notifications_published_total\{sink="mqtt",topic="iotsupport\/updates\/configs",outcome="success"\} (\d+)/;
      expect(Number(delivered.exec(metrics)?.[1])).toBeGreaterThanOrEqual(5);
    } finally {
      await sub.close();
    }
  });

  it("delivers the notifications of 20 concurrent requests, each on its own connection", async () => {
    const relay = perRequestCounter as ConnectionCounter;
    const sub = await subscribe((broker as Broker).wsUrl, ["iotsupport/updates/#"]);
    try {
      const opened = relay.opened();
      const macs = Array.from({ length: 20 }, (_, i) => `ac-00-00-00-00-${String(i).padStart(2, "0")}`);
      const statuses = await Promise.all(
        macs.map(async (mac) => {
          const res = await put(perRequest, mac);
          await res.arrayBuffer();
          return res.status;
        }),
      );
      expect(statuses.every((s) => s === 200)).toBe(true);
      const want = macs.map((mac) => `{"filename":"${mac}.json"}`);
      const deadline = Date.now() + 10_000;
      while (!want.every((w) => sub.messages.some((m) => m.payload === w)) && Date.now() < deadline) await sleep(10);
      expect(want.filter((w) => !sub.messages.some((m) => m.payload === w))).toEqual([]);
      expect(relay.opened()).toBe(opened + 20);
      const closedBy = Date.now() + 5000;
      while (relay.open() > 0 && Date.now() < closedBy) await sleep(10);
      expect(relay.open(), "connections left open").toBe(0);
    } finally {
      await sub.close();
    }
  });
});

describe("Worker entry", () => {
  it("imports neither boot.ts, the filesystem nor the server processes' sink plugins: of Node's built-ins only node:crypto and node:async_hooks", async () => {
    const result = await build({
      entryPoints: [join(ROOT, "src/runtimes/worker.ts")],
      bundle: true,
      write: false,
      metafile: true,
      platform: "neutral",
      format: "esm",
      logLevel: "silent",
      // Our own modules only: dependencies are bundled by wrangler, not judged here.
      packages: "external",
      // The runtime's own modules: node:* (nodejs_compat) and cloudflare:workers (the hub's base class).
      external: ["node:*", "cloudflare:*"],
    });
    const inputs = Object.entries(result.metafile.inputs);
    expect(
      inputs
        .map(([file]) => file)
        .filter((file) => /boot\.ts$|storage\/fs\.ts$|signing-key-file|sinks\/server\.ts$/.test(file)),
    ).toEqual([]);
    const builtins = inputs.flatMap(([, input]) =>
      input.imports.map((i) => i.path).filter((p) => p.startsWith("node:")),
    );
    expect([...new Set(builtins)].sort()).toEqual(["node:async_hooks", "node:crypto"]);
  });
});

describe("Worker storage", () => {
  it("streams a 12 MiB upload into R2 through a temporary multipart object, then serves it with its SHA-256", async () => {
    const big = await startWorkerDev({ SIGNING_KEY: keys.pkcs1, MAX_UPLOAD_BYTES: String(32 * 1024 * 1024) });
    try {
      const data = new Uint8Array(12 * 1024 * 1024 + 4321).map((_, i) => (i * 31) % 251);
      const timestamp = freshTimestamp();
      const form = new FormData();
      form.set("timestamp", timestamp);
      form.set("signature", keys.sign(timestamp));
      form.set("file", new Blob([data]), "big-firmware.bin");
      const res = await big.fetch("/api/assets", { method: "POST", body: form });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ filename: "big-firmware.bin", size: data.byteLength });
      const etag = `"${createHash("sha256").update(data).digest("hex")}"`;
      const full = await big.fetch("/files/assets/big-firmware.bin");
      expect(full.headers.get("etag")).toBe(etag);
      expect(full.headers.get("content-length")).toBe(String(data.byteLength));
      // Compared by hash: toEqual on 12 MiB arrays takes minutes.
      expect(
        `"${createHash("sha256")
          .update(new Uint8Array(await full.arrayBuffer()))
          .digest("hex")}"`,
      ).toBe(etag);
      const tail = await big.fetch("/files/assets/big-firmware.bin", { headers: { Range: "bytes=-100" } });
      expect(tail.status).toBe(206);
      expect(new Uint8Array(await tail.arrayBuffer())).toEqual(data.subarray(data.byteLength - 100));
    } finally {
      await big.cleanup();
    }
  });
});
