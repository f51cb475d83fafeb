/**
 * The Worker under `wrangler dev --local` with a private Mosquitto (MQTT over ws), with the
 * notification hub (a Durable Object holding one connection) against the per-request mode
 * (wrangler.toml without the hub's binding), measured in the same run:
 *   - response → subscriber latency, p50/p99, hub warm vs per request;
 *   - the first notification after the hub starts (cold: object built, broker connected);
 *   - PUT throughput at 50 connections with the hub vs the same Worker without any sink.
 * Usage: `npx tsx bench/worker-hub.ts [samples]`.
 */
import { metricValue } from "../test/support/http.js";
import { testKeys } from "../test/support/keys.js";
import { type Received, startBroker, subscribe } from "../test/support/mosquitto.js";
import { startWorkerDev, type WorkerDev, type WorkerDevOptions } from "../test/support/worker-dev.js";
import { load } from "./support/load.js";
import { isMain, percentile, report, sleep } from "./support/stats.js";

const signingKey = testKeys().pkcs1;
const headers = { "Content-Type": "application/json" };
const macOf = (prefix: string, i: number) =>
  `${prefix}-${String(Math.floor(i / 100) % 100).padStart(2, "0")}-${String(i % 100).padStart(2, "0")}`;

async function withWorker<T>(
  vars: Record<string, string>,
  options: WorkerDevOptions,
  run: (worker: WorkerDev) => Promise<T>,
): Promise<T> {
  const worker = await startWorkerDev({ SIGNING_KEY: signingKey, ...vars }, options);
  try {
    return await run(worker);
  } finally {
    await worker.cleanup();
  }
}

async function waitFor(messages: Received[], payload: string): Promise<Received> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = messages.find((m) => m.payload === payload);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no notification ${payload} within 10 s`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

/** One save: ms from its response to the subscriber's receipt. */
async function saveToSubscriber(worker: WorkerDev, messages: Received[], mac: string): Promise<number> {
  const res = await worker.fetch(`/api/configs/${mac}`, {
    method: "PUT",
    headers,
    body: JSON.stringify({ content: { deviceName: mac } }),
  });
  const respondedAt = performance.now();
  if (res.status !== 200) throw new Error(`PUT answered ${res.status}`);
  await res.arrayBuffer();
  return (await waitFor(messages, `{"filename":"${mac}.json"}`)).at - respondedAt;
}

async function latencies(
  brokerUrl: string,
  options: WorkerDevOptions,
  prefix: string,
  samples: number,
): Promise<number[]> {
  const sub = await subscribe(brokerUrl, ["iotsupport/updates/configs"]);
  try {
    return await withWorker({ MQTT_URL: brokerUrl }, options, async (worker) => {
      // Warm-up: boots the isolate, loads mqtt.js, starts the hub and its connection.
      for (let i = 0; i < 10; i++) await saveToSubscriber(worker, sub.messages, macOf(`${prefix}-ff-ff-ff`, i));
      const out: number[] = [];
      for (let i = 0; i < samples; i++) {
        out.push(await saveToSubscriber(worker, sub.messages, macOf(`${prefix}-00-00-00`, i)));
        // As a fleet's saves come: apart. Per-request connections then never overlap.
        await sleep(20);
      }
      return out;
    });
  } finally {
    await sub.close();
  }
}

/** The first notification of a fresh `wrangler dev` (fresh hub storage): hub built and connected after the response. */
async function coldFirst(brokerUrl: string): Promise<number> {
  const sub = await subscribe(brokerUrl, ["iotsupport/updates/configs"]);
  try {
    return await withWorker({ MQTT_URL: brokerUrl }, {}, (worker) =>
      saveToSubscriber(worker, sub.messages, "be-ee-ee-ee-ee-01"),
    );
  } finally {
    await sub.close();
  }
}

/** PUT throughput at 50 connections, and (with a sink) whether every save was delivered once the load stopped. */
async function putRate(vars: Record<string, string>, options: WorkerDevOptions) {
  return withWorker(vars, options, async (worker) => {
    const url = `${worker.url}/api/configs/aa-bb-cc-dd-ee-ff`;
    const body = JSON.stringify({ content: { deviceName: "bench", enableOTA: true, settings: { interval: 60 } } });
    await load({ url, method: "PUT", body, headers, seconds: 1 });
    const result = await load({ url, method: "PUT", body, headers });
    if (result.errors || result.non2xx) throw new Error(`PUT: ${result.errors} errors, ${result.non2xx} non-2xx`);
    let delivered: { saved: number; delivered: number } | undefined;
    if (vars.MQTT_URL) {
      const deadline = Date.now() + 60_000;
      let text = "";
      do {
        await sleep(200);
        text = await (await worker.fetch("/metrics")).text();
      } while (metricValue(text, "iot_notification_queue_depth", { sink: "mqtt" }) > 0 && Date.now() < deadline);
      delivered = {
        saved: metricValue(text, "iot_http_requests_total", {
          method: "PUT",
          route: "/api/configs/:mac",
          status: "200",
        }),
        delivered: metricValue(text, "iot_notifications_published_total", {
          sink: "mqtt",
          topic: "iotsupport/updates/configs",
          outcome: "success",
        }),
      };
    }
    return { rps: result.rps, delivered };
  });
}

export async function workerHubBench(samples = 100): Promise<string[]> {
  const lines: string[] = [];
  const broker = await startBroker();
  try {
    const perRequest = await latencies(broker.wsUrl, { hub: false }, "bd", samples);
    const hub = await latencies(broker.wsUrl, {}, "bc", samples);
    for (const p of [50, 99]) {
      lines.push(
        report(
          `Workers hub notify latency p${p} (response → subscriber, warm)`,
          percentile(hub, p),
          "ms",
          percentile(perRequest, p),
          1,
        ),
      );
    }
    const cold: number[] = [];
    for (let i = 0; i < 3; i++) cold.push(await coldFirst(broker.wsUrl));
    lines.push(
      report(
        "Workers hub notify latency cold (first after the hub starts, median of 3)",
        percentile(cold, 50),
        "ms",
        percentile(perRequest, 50),
        1,
      ),
    );

    // Interleaved, best of three each: wrangler dev and the load share a noisy machine.
    const runs: Record<"none" | "hub", number[]> = { none: [], hub: [] };
    const deliveries: string[] = [];
    for (let round = 0; round < 3; round++) {
      runs.none.push((await putRate({}, {})).rps);
      const withHub = await putRate({ MQTT_URL: broker.wsUrl }, {});
      runs.hub.push(withHub.rps);
      deliveries.push(`${withHub.delivered?.delivered} of ${withHub.delivered?.saved}`);
    }
    lines.push(report("Workers hub PUT rps (50 conns)", Math.max(...runs.hub), "req/s", Math.max(...runs.none), 0));
    console.log(`(throughput runs with the hub: notifications delivered of PUTs saved: ${deliveries.join(", ")})`);
  } finally {
    await broker.cleanup();
  }
  return lines;
}

if (isMain(import.meta.url)) await workerHubBench(Number(process.argv[2] ?? 100));
