import mqtt from "mqtt";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { type Notification, type NotificationSink, TOPICS } from "../src/core/sinks/contract.js";
import type { SinkPlugin } from "../src/core/sinks/plugin.js";
import { createSinkMetrics } from "../src/plugins/metrics/sink-metrics.js";
import { createMqttSink } from "../src/plugins/sinks/mqtt.js";
import { mqttSinkPlugin } from "../src/plugins/sinks/mqtt-plugin.js";
import type { MqttOptions } from "../src/plugins/sinks/mqtt-settings.js";
import { metricValue } from "./support/http.js";
import { type Broker, mosquittoAvailable, startBroker, subscribe } from "./support/mosquitto.js";
import { type SinkUnderTest, testSink } from "./support/sink-conformance.js";
import { startTcpProxy } from "./support/tcp-proxy.js";
import { waitUntil } from "./support/wait.js";

const available = mosquittoAvailable();

const OPTIONS: MqttOptions = {
  protocolVersion: 5,
  queueLimit: 1000,
  keepaliveSeconds: 30,
  ackTimeoutMs: 5000,
  maxInflight: 20,
  tlsInsecure: false,
};

const note = (i: number): Notification => ({ topic: TOPICS.configs, payload: { filename: `n-${i}.json` } });

/** The user the ACL broker forbids to publish; anonymous clients may do anything. */
const REFUSED_USER = "refused";

/**
 * The ACL of a Mosquitto that lets REFUSED_USER read but not publish. On MQTT 5, Mosquitto 2.0.11
 * answers such a QoS 1 publish with PUBACK 0x87 (Not authorized), which the sink turns
 * into SINK_REJECTED; on 3.1.1 it acknowledges it as if delivered and drops it.
 */
const REFUSING_ACL = `topic readwrite #\nuser ${REFUSED_USER}\ntopic read iotsupport/#\n`;

let broker: Broker;
let aclBroker: Broker;
beforeAll(async () => {
  if (available) [broker, aclBroker] = await Promise.all([startBroker(), startBroker({ acl: REFUSING_ACL })]);
});
afterAll(async () => {
  await broker?.cleanup();
  await aclBroker?.cleanup();
});

function mqttUnderTest(transport: "tcp" | "ws", protocolVersion: 4 | 5, wrap: boolean) {
  const wrapped = (sink: NotificationSink) => (wrap ? createSinkMetrics(new Registry()).wrap(sink) : sink);
  return async (): Promise<SinkUnderTest> => {
    const url = transport === "tcp" ? broker.tcpUrl : broker.wsUrl;
    // The sink reaches the broker through a proxy the kit can stall (PUBACKs held back while the
    // broker still takes and forwards every message) or cut; the subscriber is on the broker directly.
    const link = await startTcpProxy(
      transport === "tcp" ? broker.tcpPort : broker.wsPort,
      transport === "tcp" ? "mqtt" : "ws",
    );
    const sub = await subscribe(url);
    const viaLink = (queueLimit: number) =>
      wrapped(
        createMqttSink({
          url: new URL(link.url),
          context: { logger: createMemoryLogger(), options: { ...OPTIONS, protocolVersion, queueLimit } },
        }),
      );
    return {
      sink: viaLink(OPTIONS.queueLimit),
      received: async () => sub.messages.map((m) => ({ topic: m.topic, payload: JSON.parse(m.payload) as unknown })),
      refusing: async () => ({
        sink: wrapped(
          createMqttSink({
            url: new URL(transport === "tcp" ? aclBroker.tcpUrl : aclBroker.wsUrl),
            context: { logger: createMemoryLogger(), options: { ...OPTIONS, protocolVersion, username: REFUSED_USER } },
          }),
        ),
        code: "SINK_REJECTED",
        cleanup: async () => {},
      }),
      async stall() {
        const from = sub.messages.length;
        const release = link.holdDownstream();
        return { arrived: async () => sub.messages.length - from, resume: async () => release() };
      },
      link: { drop: async () => link.setBlocked(true), restore: async () => link.setBlocked(false) },
      bounded: async (limit) => ({ sink: viaLink(limit), cleanup: async () => {} }),
      registry: {
        plugin: mqttSinkPlugin as unknown as SinkPlugin,
        url,
        env: { MQTT_PROTOCOL_VERSION: String(protocolVersion) },
        observed: true,
        invalid: { env: { MQTT_PROTOCOL_VERSION: "7" }, variable: "MQTT_PROTOCOL_VERSION" },
      },
      cleanup: async () => {
        await sub.close();
        await link.close();
      },
    };
  };
}

const NO_NEGATIVE_ACK =
  "not applicable: MQTT 3.1.1 has no negative PUBACK, so Mosquitto acknowledges a denied publish and drops it";

describe.skipIf(!available)("MQTT sink on a real broker", () => {
  for (const transport of ["tcp", "ws"] as const) {
    for (const version of [5, 4] as const) {
      for (const wrap of [false, true]) {
        testSink({
          name: `mqtt over ${transport}, MQTT ${version}${wrap ? " + metrics" : ""}`,
          create: mqttUnderTest(transport, version, wrap),
          lacks: version === 4 ? { refusing: NO_NEGATIVE_ACK } : {},
        });
      }
    }
  }

  it("on MQTT 3.1.1, a publish the ACL denies is acknowledged and silently dropped (why 3.1.1 cannot refuse)", async () => {
    const sub = await subscribe(aclBroker.tcpUrl);
    const sink = createMqttSink({
      url: new URL(aclBroker.tcpUrl),
      context: { logger: createMemoryLogger(), options: { ...OPTIONS, protocolVersion: 4, username: REFUSED_USER } },
    });
    const allowed = await mqtt.connectAsync(aclBroker.tcpUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    try {
      await expect(sink.publish(note(1))).resolves.toBeUndefined();
      // The broker decided before it acknowledged: a later allowed message is the marker to wait for.
      await allowed.publishAsync(TOPICS.configs, JSON.stringify(note(2).payload), { qos: 1 });
      await waitUntil("the allowed message", () => sub.messages.length > 0);
      expect(sub.messages.map((m) => m.payload)).toEqual([JSON.stringify(note(2).payload)]);
    } finally {
      await allowed.endAsync(true);
      await sink.close();
      await sub.close();
    }
  });

  it.each(["tcp", "ws"] as const)(
    "publishes over %s with the exact topic and payload, QoS 1, not retained",
    async (transport) => {
      const url = transport === "tcp" ? broker.tcpUrl : broker.wsUrl;
      const sub = await subscribe(url);
      const sink = createMqttSink({ url: new URL(url), context: { logger: createMemoryLogger(), options: OPTIONS } });
      try {
        await sink.publish({ topic: TOPICS.assets, payload: { filename: "fw-1.0.bin" } });
        const [message] = await sub.waitFor(1);
        expect(message).toMatchObject({
          topic: "iotsupport/updates/assets",
          payload: '{"filename":"fw-1.0.bin"}',
          qos: 1,
          retain: false,
        });
      } finally {
        await sink.close();
        await sub.close();
      }
    },
  );

  it("queues while the broker is unreachable, then delivers in order once it is back", async () => {
    const own = await startBroker();
    // The subscriber is on the broker directly; only the sink's link goes through the proxy,
    // so the subscriber sees every message the sink sends once the link is back.
    const link = await startTcpProxy(own.tcpPort);
    const sub = await subscribe(own.tcpUrl);
    const logger = createMemoryLogger();
    link.setBlocked(true);
    const sink = createMqttSink({ url: new URL(link.url), context: { logger, options: OPTIONS } });
    try {
      const publishes = Array.from({ length: 30 }, (_, i) => sink.publish(note(i)));
      expect(sink.status()).toEqual({ ready: false, queueDepth: 30 });
      await waitUntil("a refused connection attempt", () => link.refused() > 0);
      link.setBlocked(false);
      await Promise.all(publishes);
      await sub.waitFor(30);
      const seen = sub.messages.map((m) => (JSON.parse(m.payload) as { filename: string }).filename);
      expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => note(i).payload.filename));
      expect(sink.status()).toEqual({ ready: true, queueDepth: 0 });
      expect(logger.entries.some((e) => e.msg === "MQTT connection restored")).toBe(true);
    } finally {
      await sink.close();
      await sub.close();
      await link.close();
      await own.cleanup();
    }
  });

  it("drops exactly the oldest past MQTT_QUEUE_LIMIT, counted as dropped", async () => {
    const own = await startBroker();
    await own.stop();
    const registry = new Registry();
    const sink = createSinkMetrics(registry).wrap(
      createMqttSink({
        url: new URL(own.tcpUrl),
        context: { logger: createMemoryLogger(), options: { ...OPTIONS, queueLimit: 3 } },
      }),
    );
    try {
      const outcomes = Array.from({ length: 5 }, (_, i) =>
        sink.publish(note(i)).then(
          () => "ok",
          (e: { code: string }) => e.code,
        ),
      );
      // The bound is enforced as each publish is queued: the two oldest are already refused.
      await own.start();
      const sub = await subscribe(own.tcpUrl);
      expect(await Promise.all(outcomes)).toEqual(["SINK_DROPPED", "SINK_DROPPED", "ok", "ok", "ok"]);
      const text = await registry.metrics();
      expect(metricValue(text, "iot_notifications_published_total", { sink: "mqtt", outcome: "dropped" })).toBe(2);
      expect(metricValue(text, "iot_notifications_published_total", { sink: "mqtt", outcome: "success" })).toBe(3);
      await sub.close();
    } finally {
      await sink.close();
      await own.cleanup();
    }
  });

  it("re-queues, not loses, messages when the connection is cut in the middle of the replay", async () => {
    const own = await startBroker();
    const proxy = await startTcpProxy(own.tcpPort);
    const sub = await subscribe(own.tcpUrl);
    await own.signal("SIGSTOP");
    const sink = createMqttSink({
      url: new URL(proxy.url),
      context: { logger: createMemoryLogger(), options: { ...OPTIONS, ackTimeoutMs: 500, maxInflight: 5 } },
    });
    try {
      // Every connection is cut after ~1.5 KB from the client: a few publishes per connection.
      proxy.cutAfterClientBytes(1500);
      own.signal("SIGCONT");
      const publishes = Array.from({ length: 60 }, (_, i) => sink.publish(note(i)));
      await waitUntil("three cut connections", () => proxy.connections() > 2);
      proxy.cutAfterClientBytes(undefined);
      await Promise.all(publishes);
      await sub.waitFor(60);
      const unique = new Set(sub.messages.map((m) => m.payload));
      expect(unique.size).toBe(60);
      expect(proxy.connections()).toBeGreaterThan(2);
    } finally {
      await sink.close();
      await sub.close();
      await proxy.close();
      await own.cleanup();
    }
  });

  it("recycles a connection whose PUBACK never comes (hung broker), and delivers after it recovers", async () => {
    const own = await startBroker();
    const logger = createMemoryLogger();
    const sink = createMqttSink({
      url: new URL(own.tcpUrl),
      context: { logger, options: { ...OPTIONS, ackTimeoutMs: 400 } },
    });
    try {
      await sink.publish(note(0));
      own.signal("SIGSTOP");
      const outcome = sink.publish(note(1)).then(
        () => "delivered",
        (e: { code: string }) => e.code,
      );
      await waitUntil("the connection to be recycled", () =>
        logger.entries.some((e) => e.msg === "recycling the MQTT connection" && String(e.reason).includes("no PUBACK")),
      );
      expect(sink.status().ready).toBe(false);
      own.signal("SIGCONT");
      expect(await outcome).toBe("delivered");
    } finally {
      own.signal("SIGCONT");
      await sink.close();
      await own.cleanup();
    }
  });
});

describe.skipIf(!available)("MQTT sink keep-alive", () => {
  it("survives a keep-alive timeout with messages in flight (mqtt.js re-entrancy crash) and delivers them later", async () => {
    const own = await startBroker();
    const logger = createMemoryLogger();
    const sink = createMqttSink({
      url: new URL(own.tcpUrl),
      context: { logger, options: { ...OPTIONS, keepaliveSeconds: 1, ackTimeoutMs: 60_000 } },
    });
    try {
      await sink.publish(note(0));
      own.signal("SIGSTOP");
      const outcomes = Array.from({ length: 10 }, (_, i) =>
        sink.publish(note(i + 1)).then(
          () => "delivered",
          (e: { code: string }) => e.code,
        ),
      );
      // Keep-alive 1 s: the silent broker is found out after about 1.5 s.
      await waitUntil("the keep-alive timeout", () => !sink.status().ready);
      own.signal("SIGCONT");
      expect(await Promise.all(outcomes)).toEqual(Array(10).fill("delivered"));
    } finally {
      own.signal("SIGCONT");
      await sink.close();
      await own.cleanup();
    }
  });
});

describe.skipIf(!available)("MQTT sink credentials", () => {
  let secure: Broker;
  beforeAll(async () => {
    secure = await startBroker({ users: { fleet: "p@ss:w/rd%" } });
  });
  afterAll(async () => {
    await secure?.cleanup();
  });

  it("connects with MQTT_USERNAME/MQTT_PASSWORD", async () => {
    const sink = createMqttSink({
      url: new URL(secure.tcpUrl),
      context: { logger: createMemoryLogger(), options: { ...OPTIONS, username: "fleet", password: "p@ss:w/rd%" } },
    });
    await expect(sink.publish(note(1))).resolves.toBeUndefined();
    await sink.close();
  });

  it("connects with percent-encoded credentials in the URL, over WebSocket too", async () => {
    for (const base of [secure.tcpUrl, secure.wsUrl]) {
      const url = new URL(base);
      url.username = "fleet";
      url.password = encodeURIComponent("p@ss:w/rd%");
      const sink = createMqttSink({ url, context: { logger: createMemoryLogger(), options: OPTIONS } });
      await expect(sink.publish(note(1))).resolves.toBeUndefined();
      await sink.close();
    }
  });

  it("logs wrong credentials clearly, once, never the password; stays not ready; no crash", async () => {
    const logger = createMemoryLogger();
    const sink = createMqttSink({
      url: new URL(secure.tcpUrl),
      context: { logger, options: { ...OPTIONS, username: "fleet", password: "wrong-secret-value" } },
    });
    const pending = sink.publish(note(1)).catch((e: { code: string }) => e.code);
    // Logged once, not once per attempt: wait until a later attempt has been refused too.
    await waitUntil("a repeated refusal", () =>
      logger.entries.some((e) => e.msg === "MQTT connection error (repeated)"),
    );
    expect(sink.status()).toEqual({ ready: false, queueDepth: 1 });
    const errors = logger.entries.filter((e) => e.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toContain("MQTT_USERNAME");
    expect(JSON.stringify(logger.entries)).not.toContain("wrong-secret-value");
    await sink.close();
    expect(await pending).toBe("SINK_CLOSED");
  });
});
