/**
 * Notifications per second through the notifier and the metrics decorator into the
 * MQTT sink, against raw mqtt.js with the same in-flight window, same broker, same
 * run. Usage: `npx tsx bench/sink-throughput.ts [messages] [window]`.
 */
import mqtt from "mqtt";
import { Registry } from "prom-client";
import { createMemoryLogger } from "../src/core/logger.js";
import { createNotifier } from "../src/core/notifier.js";
import { createSinkMetrics } from "../src/plugins/metrics/sink-metrics.js";
import { createMqttSink } from "../src/plugins/sinks/mqtt.js";
import { startBroker } from "../test/support/mosquitto.js";
import { isMain, report } from "./support/stats.js";

let messages = 20_000;
let windowSize = 20;

async function raw(url: string): Promise<number> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5 });
  let next = 0;
  const start = performance.now();
  const lane = async () => {
    while (next < messages) {
      const i = next++;
      await client.publishAsync("iotsupport/updates/configs", JSON.stringify({ filename: `${i}.json` }), { qos: 1 });
    }
  };
  await Promise.all(Array.from({ length: windowSize }, lane));
  const seconds = (performance.now() - start) / 1000;
  await client.endAsync();
  return messages / seconds;
}

async function ours(url: string): Promise<number> {
  const logger = createMemoryLogger();
  const sink = createSinkMetrics(new Registry()).wrap(
    createMqttSink({
      url: new URL(url),
      context: {
        logger,
        options: {
          protocolVersion: 5,
          queueLimit: messages,
          keepaliveSeconds: 30,
          ackTimeoutMs: 10_000,
          maxInflight: windowSize,
          tlsInsecure: false,
        },
      },
    }),
  );
  const notifier = createNotifier({ sink, logger });
  while (!sink.status().ready) await new Promise((r) => setTimeout(r, 10));
  const start = performance.now();
  for (let i = 0; i < messages; i++) notifier.configSaved(`aa-bb-cc-dd-ee-${(i % 256).toString(16).padStart(2, "0")}`);
  const result = await notifier.flush(60_000);
  const seconds = (performance.now() - start) / 1000;
  await sink.close();
  if (result.success !== messages) throw new Error(`delivered ${result.success} of ${messages}`);
  return messages / seconds;
}

export async function throughputBench(count = 20_000, window = 20): Promise<string[]> {
  messages = count;
  windowSize = window;
  const lines: string[] = [];
  const broker = await startBroker();
  try {
    for (const [transport, url] of [
      ["tcp", broker.tcpUrl],
      ["ws", broker.wsUrl],
    ] as const) {
      // Alternate the two, twice each, and keep each one's best run: the machine is shared and noisy.
      const baselines: number[] = [];
      const mines: number[] = [];
      for (let round = 0; round < 2; round++) {
        baselines.push(await raw(url));
        mines.push(await ours(url));
      }
      lines.push(
        report(
          `sink throughput ${transport} (notifier + metrics + mqtt sink, window ${windowSize})`,
          Math.max(...mines),
          "msg/s",
          Math.max(...baselines),
          0,
        ),
      );
    }
  } finally {
    await broker.cleanup();
  }
  return lines;
}

if (isMain(import.meta.url)) await throughputBench(Number(process.argv[2] ?? 20_000), Number(process.argv[3] ?? 20));
