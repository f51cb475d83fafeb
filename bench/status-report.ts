/**
 * A device's status report (PUT /files/status/{mac}.json) against a config save
 * (PUT /api/configs/{mac}) of the same payload size, same server, same run, 50
 * connections, no notification sink: SPEC says a report costs no more than a save. Both
 * are durable before their answer; the figure is the report's throughput and p50 as a
 * ratio of the save's. Rounds alternate, best of each kept: the machine is shared.
 */
import { assertClean, type HttpLoadResult, httpLoad, LOAD_TOOL } from "./support/http-load.js";
import { startServer } from "./support/server.js";
import { isMain, report } from "./support/stats.js";

const MAC = "aa-bb-cc-dd-ee-01";
const headers = { "Content-Type": "application/json" };

/** A report as a device sends it, and a config save padded to exactly its size. */
export function samePayloads(): { status: string; save: string } {
  const status = JSON.stringify({
    state: "ok",
    config_etag: `"${"3a".repeat(32)}"`,
    firmware_version: "esp32-fw-2.4.1",
    message: "applied after 1 retry",
  });
  const bare = JSON.stringify({ content: { deviceName: "bench", pad: "" } });
  const save = JSON.stringify({ content: { deviceName: "bench", pad: "x".repeat(status.length - bare.length) } });
  if (save.length !== status.length) throw new Error(`payloads differ: ${save.length} vs ${status.length} bytes`);
  return { status, save };
}

export async function statusReportBench(rounds = 2): Promise<string[]> {
  const { status, save } = samePayloads();
  const server = await startServer({}, [process.execPath, "dist/node.mjs"]);
  try {
    const runs = { report: [] as HttpLoadResult[], save: [] as HttpLoadResult[] };
    const put = async (path: string, body: string, seconds?: number) =>
      assertClean(
        `PUT ${path}`,
        await httpLoad({ url: `${server.url}${path}`, connections: 50, method: "PUT", body, headers, seconds }),
      );
    // Warm both paths (the config exists before its device reports, as in a fleet).
    await put(`/api/configs/${MAC}`, save, 1);
    await put(`/files/status/${MAC}.json`, status, 1);
    for (let round = 0; round < rounds; round++) {
      runs.save.push(await put(`/api/configs/${MAC}`, save));
      runs.report.push(await put(`/files/status/${MAC}.json`, status));
    }
    const best = (key: keyof typeof runs) => Math.max(...runs[key].map((r) => r.rps));
    // autocannon (BENCH_TOOL=autocannon) has reported a p50 of 0 on a loaded machine: such a run says nothing.
    const bestP50 = (key: keyof typeof runs) => Math.min(...runs[key].map((r) => r.p50).filter((p50) => p50 > 0));
    const size = `${status.length} bytes, ${LOAD_TOOL}, 50 conns`;
    return [
      report(`status report PUT rps vs config save (${size})`, best("report"), "req/s", best("save"), 0),
      report(`status report PUT p50 vs config save (${size})`, bestP50("report"), "ms", bestP50("save"), 2),
    ];
  } finally {
    await server.stop();
  }
}

if (isMain(import.meta.url)) await statusReportBench();
