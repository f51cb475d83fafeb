/** Shared pieces of the fault suite: a bounded load loop, metric reading, waiting for a condition. */
import { metricValue } from "../support/http.js";
import { type SpawnedServer, spawnServer } from "../support/server.js";

export { sleep, waitUntil } from "../support/wait.js";

/** The bundled server (built by the fault suite's global set-up): fast to start, as `npm start` runs it. */
export const startBundled = (env: Record<string, string>) =>
  spawnServer({ LOG_LEVEL: "info", ...env }, "dist/node.mjs", { command: process.execPath, args: ["dist/node.mjs"] });

export const mac = (i: number) => {
  const hex = i.toString(16).padStart(6, "0");
  return `aa-bb-cc-${hex.slice(0, 2)}-${hex.slice(2, 4)}-${hex.slice(4, 6)}`;
};

export interface LoadFigures {
  requests: number;
  saved: number;
  errors: number;
  maxMs: number;
  latencies: number[];
}

/** `total` PUTs of distinct MACs over `connections` concurrent lanes; counts every outcome. */
export async function putLoad(
  url: string,
  total: number,
  connections: number,
  onProgress?: (done: number) => void | Promise<void>,
): Promise<LoadFigures> {
  const figures: LoadFigures = { requests: 0, saved: 0, errors: 0, maxMs: 0, latencies: [] };
  let next = 0;
  const lane = async () => {
    while (next < total) {
      const i = next++;
      const started = performance.now();
      try {
        const res = await fetch(`${url}/api/configs/${mac(i)}`, {
          method: "PUT",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ content: { deviceName: `device ${i}` } }),
        });
        await res.arrayBuffer();
        if (res.status === 200) figures.saved++;
        else figures.errors++;
      } catch {
        // A failed request is exactly what this suite counts.
        figures.errors++;
      }
      const ms = performance.now() - started;
      figures.latencies.push(ms);
      figures.maxMs = Math.max(figures.maxMs, ms);
      figures.requests++;
      await onProgress?.(figures.requests);
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
  return figures;
}

export async function metrics(server: SpawnedServer) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const outcome = (o: string) =>
    metricValue(text, "iot_notifications_published_total", {
      sink: "mqtt",
      topic: "iotsupport/updates/configs",
      outcome: o,
    });
  return { text, success: outcome("success"), failure: outcome("failure"), dropped: outcome("dropped") };
}

export async function health(server: SpawnedServer) {
  return (await (await fetch(`${server.url}/api/health`)).json()) as {
    notifications: { ready: boolean; queue_depth: number; pending: number };
  };
}
