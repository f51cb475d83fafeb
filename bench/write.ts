/**
 * Writes at 50 connections: PUT /api/configs/{mac} with MQTT notifications over TCP and
 * over WebSocket, against the same PUT with the no-op sink, in the same run. Also the
 * PUT p99 while the broker is down against the p99 with the broker up.
 */
import { startBroker } from "../test/support/mosquitto.js";
import { assertClean, httpLoad, LOAD_TOOL } from "./support/http-load.js";
import { alternate, logRounds, median } from "./support/rounds.js";
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

export async function writeBench(): Promise<string[]> {
  const lines: string[] = [];
  const broker = await startBroker();
  try {
    // Alternating rounds, each figure the median of its rounds (as the reads): one run per shape
    // swung the TCP row between 0.76× and 0.94× from one full run to the next.
    const runs = await alternate({
      noop: () => putLoad({}),
      tcp: () => putLoad({ MQTT_URL: broker.tcpUrl }),
      ws: () => putLoad({ MQTT_URL: broker.wsUrl }),
    });
    logRounds(runs, (r) => r.rps, "req/s", "noop");
    const rps = (key: keyof typeof runs) => median(runs[key], (r) => r.rps);
    for (const transport of ["tcp", "ws"] as const) {
      lines.push(
        report(
          `write PUT with MQTT ${transport} rps vs no-op sink (${LOAD_TOOL}, 50 conns, median of ${runs.noop.length})`,
          rps(transport),
          "req/s",
          rps("noop"),
          0,
        ),
      );
    }
    const p99 = await alternate({
      up: () => putLoad({ MQTT_URL: broker.tcpUrl }),
      down: () =>
        putLoad({ MQTT_URL: broker.tcpUrl }, async () => {
          await broker.stop();
          await sleep(200);
        }).finally(() => broker.start()),
    });
    logRounds(p99, (r) => r.p99, "ms p99", "up");
    lines.push(
      report(
        "write PUT p99 with the broker down",
        median(p99.down, (r) => r.p99),
        "ms",
        median(p99.up, (r) => r.p99),
        1,
      ),
    );
  } finally {
    await broker.cleanup();
  }
  return lines;
}

if (isMain(import.meta.url)) await writeBench();
