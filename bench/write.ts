/**
 * Writes at 50 connections: PUT /api/configs/{mac} with MQTT notifications over TCP and
 * over WebSocket, against the same PUT with the no-op sink, in the same run. Also the
 * PUT p99 while the broker is down against the p99 with the broker up.
 */
import { startBroker } from "../test/support/mosquitto.js";
import { load } from "./support/load.js";
import { startServer } from "./support/server.js";
import { isMain, report, sleep } from "./support/stats.js";

const body = JSON.stringify({ content: { deviceName: "bench", enableOTA: true, settings: { interval: 60 } } });
const headers = { "Content-Type": "application/json" };

async function putLoad(env: Record<string, string>, during?: () => Promise<void>) {
  const server = await startServer({ MQTT_QUEUE_LIMIT: "1000000", ...env }, [process.execPath, "dist/node.mjs"]);
  try {
    const url = `${server.url}/api/configs/aa-bb-cc-dd-ee-ff`;
    await load({ url, method: "PUT", body, headers, seconds: 1 });
    await during?.();
    const result = await load({ url, method: "PUT", body, headers });
    if (result.errors || result.non2xx) throw new Error(`PUT: ${result.errors} errors, ${result.non2xx} non-2xx`);
    return result;
  } finally {
    await server.stop();
  }
}

export async function writeBench(): Promise<string[]> {
  const lines: string[] = [];
  const broker = await startBroker();
  try {
    const noop = await putLoad({});
    for (const [transport, url] of [
      ["tcp", broker.tcpUrl],
      ["ws", broker.wsUrl],
    ] as const) {
      const withMqtt = await putLoad({ MQTT_URL: url });
      lines.push(report(`write PUT with MQTT ${transport} rps (50 conns)`, withMqtt.rps, "req/s", noop.rps, 0));
    }
    const up = await putLoad({ MQTT_URL: broker.tcpUrl });
    const down = await putLoad({ MQTT_URL: broker.tcpUrl }, async () => {
      await broker.stop();
      await sleep(200);
    });
    await broker.start();
    lines.push(report("write PUT p99 with the broker down", down.p99, "ms", up.p99, 1));
  } finally {
    await broker.cleanup();
  }
  return lines;
}

if (isMain(import.meta.url)) await writeBench();
