/**
 * Measures, on the Worker under workerd (wrangler dev --local) with a private Mosquitto,
 * how long after a config save's response the notification reaches a subscriber, and
 * the publish → PUBACK time (from the metrics). By default through the notification hub
 * (one connection, kept open); with `per-request`, without its binding: each request then
 * opens its own WebSocket connection to the broker, after the response, and that is most
 * of it. bench/worker-hub.ts measures both in one run, with percentiles.
 *
 *   npx tsx test/support/worker-latency.ts [samples=20] [per-request]
 */
import { testKeys } from "./keys.js";
import { startBroker, subscribe } from "./mosquitto.js";
import { startWorkerDev } from "./worker-dev.js";

const samples = Number(process.argv[2] ?? 20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const ackStats = async (fetchMetrics: () => Promise<string>) => {
  const text = await fetchMetrics();
  const value = (name: string) =>
    Number(
      new RegExp(`^${name}\\{sink="mqtt",topic="iotsupport/updates/configs"\\} (\\S+)$`, "m").exec(text)?.[1] ?? 0,
    );
  return {
    sum: value("iot_notification_ack_duration_seconds_sum"),
    count: value("iot_notification_ack_duration_seconds_count"),
  };
};

const broker = await startBroker();
const worker = await startWorkerDev(
  { SIGNING_KEY: testKeys().pkcs1, MQTT_URL: broker.wsUrl },
  { hub: process.argv[3] !== "per-request" },
);
const sub = await subscribe(broker.wsUrl, ["iotsupport/updates/#"]);
const metrics = async () => (await worker.fetch("/metrics")).text();
try {
  const save = async (mac: string) => {
    const started = performance.now();
    const res = await worker.fetch(`/api/configs/${mac}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ content: { deviceName: mac } }),
    });
    const respondedAt = performance.now();
    if (res.status !== 200) throw new Error(`PUT answered ${res.status}`);
    await res.arrayBuffer();
    const payload = `{"filename":"${mac}.json"}`;
    const deadline = Date.now() + 10_000;
    let message = sub.messages.find((m) => m.payload === payload);
    while (!message && Date.now() < deadline) {
      await sleep(1);
      message = sub.messages.find((m) => m.payload === payload);
    }
    if (!message) throw new Error(`no notification for ${mac}`);
    return { response: respondedAt - started, afterResponse: message.at - respondedAt };
  };
  // Warm-up: boots the isolate and loads mqtt.js.
  for (let i = 0; i < 3; i++) await save(`ee-ee-ee-ee-ee-0${i}`);
  await sleep(300);
  const before = await ackStats(metrics);
  const results = [];
  for (let i = 0; i < samples; i++) {
    results.push(
      await save(`ee-ee-ee-ee-${String(Math.floor(i / 100)).padStart(2, "0")}-${String(i % 100).padStart(2, "0")}`),
    );
    await sleep(100);
  }
  const after = await ackStats(metrics);
  const acks = after.count - before.count;
  console.log(
    JSON.stringify({
      samples,
      median_response_ms: Number(median(results.map((r) => r.response)).toFixed(1)),
      median_response_to_subscriber_ms: Number(median(results.map((r) => r.afterResponse)).toFixed(1)),
      min_response_to_subscriber_ms: Number(Math.min(...results.map((r) => r.afterResponse)).toFixed(1)),
      max_response_to_subscriber_ms: Number(Math.max(...results.map((r) => r.afterResponse)).toFixed(1)),
      worker_mean_publish_to_puback_ms: acks > 0 ? Number((((after.sum - before.sum) / acks) * 1000).toFixed(1)) : null,
      worker_pubacks: acks,
    }),
  );
} finally {
  await sub.close();
  await worker.cleanup();
  await broker.cleanup();
}
