/**
 * Status reports over MQTT on Workers (MQTT_STATUS_TOPICS=true): the Worker under workerd
 * (`wrangler dev --local`, the notification hub bound, local R2) and a real Mosquitto over
 * WebSockets. The hub is woken by the Worker's first request, subscribes on its one broker
 * connection, records a device's report in R2 within 2 s (read back from the persisted bucket
 * with Miniflare, the local R2 that wrangler dev itself runs on), and counts a malformed one;
 * /metrics shows the hub's count. Without the hub's binding the Worker refuses the setting.
 * The hub records through the fleet records (src/features/fleet/fleet-records.ts) over R2 state.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { afterEach, describe, expect, it } from "vitest";
import { metricValue } from "./support/http.js";
import { testKeys } from "./support/keys.js";
import { mosquittoAvailable, startBroker } from "./support/mosquitto.js";
import { connectDevice } from "./support/status-reports.js";
import { waitUntil } from "./support/wait.js";
import { startWorkerDev } from "./support/worker-dev.js";

const withBroker = mosquittoAvailable();
const keys = testKeys();
const A = "a0-00-00-00-00-0a";
const B = "b0-00-00-00-00-0b";
/** SPEC: recorded within 2 s of the broker's PUBACK to the device. */
const RECORDED_WITHIN_MS = 2000;
const PREFIX = ".iotsupport-state/device-reports/";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The reports in the bucket wrangler dev persisted under `persistTo` (bucket_name iot-support, wrangler.toml). */
async function reportsInR2(persistTo: string) {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 204 }); } }",
    r2Buckets: { BUCKET: "iot-support" },
    r2Persist: join(persistTo, "v3", "r2"),
  });
  try {
    const bucket = await mf.getR2Bucket("BUCKET");
    const listed = await bucket.list({ prefix: PREFIX });
    // Awaited here: the instance is disposed in `finally`.
    return await Promise.all(
      listed.objects.map(async ({ key }) => ({
        key: key.slice(PREFIX.length),
        value: JSON.parse((await (await bucket.get(key))?.text()) ?? "null") as unknown,
      })),
    );
  } finally {
    await mf.dispose();
  }
}

describe.skipIf(!withBroker)("status reports through the Workers notification hub", () => {
  it("the hub subscribes once woken, records a report in R2 within 2 s, counts a malformed one", async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.cleanup());
    const persistTo = await mkdtemp(join(tmpdir(), "iot-worker-reports-"));
    cleanups.push(() => rm(persistTo, { recursive: true, force: true }));
    const worker = await startWorkerDev(
      { SIGNING_KEY: keys.pkcs1, MQTT_URL: broker.wsUrl, MQTT_STATUS_TOPICS: "true" },
      { persistTo },
    );
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await worker.cleanup();
    });
    const device = await connectDevice(broker.wsUrl);
    cleanups.push(() => device.close());

    // No notification has been sent: the first request alone wakes the hub.
    expect((await worker.fetch("/api/health")).status).toBe(200);
    await waitUntil("the hub subscribed", () =>
      worker.lines().some((l) => l.msg === "subscribed to device status reports"),
    );
    const counted = async (state: string) =>
      metricValue(await (await worker.fetch("/metrics")).text(), "iot_device_status_reports_total", { state });

    const published = performance.now();
    await device.report(A, JSON.stringify({ state: "ok", config_etag: "abc", firmware_version: "4.2" }));
    // Counted once recorded: the R2 write has been answered.
    await waitUntil("the report recorded", async () => (await counted("ok")) === 1, RECORDED_WITHIN_MS);
    const elapsed = performance.now() - published;
    await device.report(B, JSON.stringify({ state: "sideways" }));
    await waitUntil("the malformed report counted", async () => (await counted("invalid")) === 1);
    expect(worker.lines().filter((l) => l.msg === "refused a device's status message")).toEqual([
      expect.objectContaining({ level: "warn", mac: B, field: "state" }),
    ]);
    console.log(`Worker hub: report recorded in R2 and counted ${elapsed.toFixed(0)} ms after its PUBACK`);

    stopped = true;
    await worker.cleanup();
    const records = await reportsInR2(persistTo);
    expect(records).toEqual([
      {
        key: expect.stringMatching(new RegExp(`^${A}\\.\\d{13}$`)),
        value: { report: { state: "ok", config_etag: '"abc"', firmware_version: "4.2" }, at: expect.any(Number) },
      },
    ]);
    const [record] = records;
    expect(record?.key).toBe(`${A}.${(record?.value as { at?: number } | undefined)?.at}`);
  });

  it("without the hub's binding, refuses MQTT_STATUS_TOPICS at boot, naming the binding", async () => {
    const worker = await startWorkerDev(
      { SIGNING_KEY: keys.pkcs1, MQTT_URL: "ws://127.0.0.1:9", MQTT_STATUS_TOPICS: "true" },
      { hub: false },
    );
    cleanups.push(() => worker.cleanup());
    const res = await worker.fetch("/api/health");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string; details?: unknown } };
    expect(JSON.stringify(body)).toContain("Invalid setting MQTT_STATUS_TOPICS");
    expect(JSON.stringify(body)).toContain("NOTIFY_HUB");
  });
});
