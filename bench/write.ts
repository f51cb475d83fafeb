/**
 * Writes at 50 connections: PUT /api/configs/{mac} with MQTT notifications over TCP and
 * over WebSocket, against the same PUT with the no-op sink, in the same run. Also the
 * PUT p99 while the broker is down against the p99 with the broker up.
 */
import { startBroker } from "../test/support/mosquitto.js";
import { assertClean, httpLoad, LOAD_TOOL } from "./support/http-load.js";
import { startServer } from "./support/server.js";
import { isMain, report, sleep } from "./support/stats.js";

const body = JSON.stringify({ content: { deviceName: "bench", enableOTA: true, settings: { interval: 60 } } });
const headers = { "Content-Type": "application/json" };

async function putLoad(env: Record<string, string>, during?: () => Promise<void>) {
  const server = await startServer({ MQTT_QUEUE_LIMIT: "1000000", ...env }, [process.execPath, "dist/node.mjs"]);
  try {
    const url = `${server.url}/api/configs/aa-bb-cc-dd-ee-ff`;
    await httpLoad({ url, connections: 50, method: "PUT", body, headers, seconds: 1 });
    await during?.();
    return assertClean("PUT", await httpLoad({ url, connections: 50, method: "PUT", body, headers }));
  } finally {
    await server.stop();
  }
}

/** Runs each configuration `rounds` times, interleaved, and keeps each one's best: the machine is noisy. */
async function interleaved<K extends string>(
  configs: Record<K, () => Promise<Awaited<ReturnType<typeof putLoad>>>>,
  rounds = 2,
) {
  const results = {} as Record<K, Array<Awaited<ReturnType<typeof putLoad>>>>;
  for (let round = 0; round < rounds; round++) {
    for (const key of Object.keys(configs) as K[]) {
      results[key] ??= [];
      results[key].push(await configs[key]());
    }
  }
  return results;
}

export async function writeBench(): Promise<string[]> {
  const lines: string[] = [];
  const broker = await startBroker();
  try {
    const runs = await interleaved({
      noop: () => putLoad({}),
      tcp: () => putLoad({ MQTT_URL: broker.tcpUrl }),
      ws: () => putLoad({ MQTT_URL: broker.wsUrl }),
    });
    const best = (key: keyof typeof runs) => Math.max(...runs[key].map((r) => r.rps));
    for (const transport of ["tcp", "ws"] as const) {
      lines.push(
        report(
          `write PUT with MQTT ${transport} rps vs no-op sink (${LOAD_TOOL}, 50 conns)`,
          best(transport),
          "req/s",
          best("noop"),
          0,
        ),
      );
    }
    const p99 = await interleaved({
      up: () => putLoad({ MQTT_URL: broker.tcpUrl }),
      down: () =>
        putLoad({ MQTT_URL: broker.tcpUrl }, async () => {
          await broker.stop();
          await sleep(200);
        }).finally(() => broker.start()),
    });
    lines.push(
      report(
        "write PUT p99 with the broker down",
        Math.min(...p99.down.map((r) => r.p99)),
        "ms",
        Math.min(...p99.up.map((r) => r.p99)),
        1,
      ),
    );
  } finally {
    await broker.cleanup();
  }
  return lines;
}

if (isMain(import.meta.url)) await writeBench();
