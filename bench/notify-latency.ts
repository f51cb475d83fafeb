/**
 * End-to-end notification latency: PUT sent → subscriber receives, p50/p99, against
 * raw mqtt.js publish → receive on the same broker and transport, measured in the
 * same run, for TCP and WebSocket. Usage: `npx tsx bench/notify-latency.ts [samples]`.
 */
import mqtt from "mqtt";
import { type Received, startBroker, subscribe } from "../test/support/mosquitto.js";
import { spawnServer } from "../test/support/server.js";
import { isMain, percentile, report, sleep } from "./support/stats.js";

let samples = 300;

async function waitFor(messages: Received[], n: number): Promise<Received> {
  const deadline = Date.now() + 5000;
  while (messages.length < n) {
    if (Date.now() > deadline) throw new Error("message not received within 5 s");
    await new Promise<void>((r) => setImmediate(r));
  }
  return messages[n - 1] as Received;
}

async function raw(url: string): Promise<number[]> {
  const sub = await subscribe(url, ["bench/raw"]);
  const pub = await mqtt.connectAsync(url, { protocolVersion: 5 });
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    void pub.publishAsync("bench/raw", JSON.stringify({ filename: `${i}.json` }), { qos: 1 });
    const message = await waitFor(sub.messages, i + 1);
    latencies.push(message.at - start);
  }
  await pub.endAsync();
  await sub.close();
  return latencies;
}

async function endToEnd(url: string): Promise<number[]> {
  const sub = await subscribe(url, ["iotsupport/updates/configs"]);
  const server = await spawnServer({ MQTT_URL: url });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < samples + 20; i++) {
      const mac = `aa-bb-cc-dd-${String(Math.floor(i / 100)).padStart(2, "0")}-${String(i % 100).padStart(2, "0")}`;
      const before = sub.messages.length;
      const start = performance.now();
      const res = await fetch(`${server.url}/api/configs/${mac}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ content: { deviceName: mac } }),
      });
      if (res.status !== 200) throw new Error(`PUT answered ${res.status}`);
      const message = await waitFor(sub.messages, before + 1);
      // The first requests warm up the server's JIT and connection pool; they are not counted.
      if (i >= 20) latencies.push(message.at - start);
    }
  } finally {
    await sub.close();
    await server.cleanup();
  }
  return latencies;
}

/** The PUT alone (no-op sink): how much of the end-to-end time is the durable write itself. */
async function putOnly(): Promise<number[]> {
  const server = await spawnServer({});
  const latencies: number[] = [];
  try {
    for (let i = 0; i < samples + 20; i++) {
      const start = performance.now();
      const res = await fetch(`${server.url}/api/configs/aa-bb-cc-dd-ee-${String(i % 100).padStart(2, "0")}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ content: { deviceName: String(i) } }),
      });
      await res.arrayBuffer();
      if (i >= 20) latencies.push(performance.now() - start);
    }
  } finally {
    await server.cleanup();
  }
  return latencies;
}

export async function latencyBench(count = 300): Promise<string[]> {
  samples = count;
  const lines: string[] = [];
  const broker = await startBroker();
  try {
    const put = percentile(await putOnly(), 50);
    lines.push(report("PUT alone p50 (no-op sink; two fsyncs for durability)", put, "ms"));
    for (const [transport, url] of [
      ["tcp", broker.tcpUrl],
      ["ws", broker.wsUrl],
    ] as const) {
      const baseline = await raw(url);
      await sleep(200);
      const ours = await endToEnd(url);
      for (const p of [50, 99]) {
        lines.push(
          report(
            `notify latency ${transport} p${p} (PUT → subscriber)`,
            percentile(ours, p),
            "ms",
            percentile(baseline, p),
          ),
        );
      }
      lines.push(
        report(`notify latency ${transport} p50 minus raw p50`, percentile(ours, 50) - percentile(baseline, 50), "ms"),
      );
      // What the notification path adds on top of the durable PUT, against what raw mqtt.js takes.
      lines.push(
        report(
          `notify latency ${transport} p50 minus the PUT alone`,
          percentile(ours, 50) - put,
          "ms",
          percentile(baseline, 50),
        ),
      );
    }
  } finally {
    await broker.cleanup();
  }
  return lines;
}

if (isMain(import.meta.url)) await latencyBench(Number(process.argv[2] ?? 300));
