/**
 * Status reports over MQTT (MQTT_STATUS_TOPICS=true) in real Node, Deno and Bun server
 * processes against a real Mosquitto (TCP for Node and Bun, WebSockets for Deno): a valid
 * report is recorded in the data directory within 2 s, a malformed one is counted on /metrics
 * and logged, and the process still shuts down gracefully on SIGTERM. The finer points (every
 * kind of malformed message, restarts, retained messages) are in mqtt-status-reports.test.ts.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricValue } from "./support/http.js";
import { testKeys } from "./support/keys.js";
import { type Broker, mosquittoAvailable, startBroker } from "./support/mosquitto.js";
import { npmScript, runtimeAvailable, spawnServer } from "./support/server.js";
import { connectDevice, recordedReports } from "./support/status-reports.js";
import { waitUntil } from "./support/wait.js";

const available = mosquittoAvailable();
const keys = testKeys();
const A = "a0-00-00-00-00-0a";
const B = "b0-00-00-00-00-0b";
/** SPEC: recorded within 2 s of the broker's PUBACK to the device. */
const RECORDED_WITHIN_MS = 2000;

const runtimes = [
  { name: "node", script: undefined, transport: "tcp" },
  { name: "deno", script: "start:deno", transport: "ws" },
  { name: "bun", script: "start:bun", transport: "tcp" },
] as const;

describe.skipIf(!available)("status reports over MQTT in server processes", () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.cleanup();
  });

  for (const runtime of runtimes) {
    const runs = runtime.name === "node" || runtimeAvailable(runtime.name);
    it.skipIf(!runs)(`${runtime.name}: records a report within 2 s, counts a malformed one`, async () => {
      const url = runtime.transport === "tcp" ? broker.tcpUrl : broker.wsUrl;
      const server = await spawnServer(
        { MQTT_URL: url, MQTT_STATUS_TOPICS: "true", SIGNING_KEY: keys.pkcs1, LOG_LEVEL: "info" },
        undefined,
        runtime.script ? npmScript(runtime.script) : undefined,
      );
      const device = await connectDevice(url);
      try {
        await waitUntil("the status topics subscribed", () =>
          server.lines().some((l) => l.msg === "subscribed to device status reports"),
        );
        await device.report(A, JSON.stringify({ state: "ok", config_etag: "abc", firmware_version: "3.0" }));
        const stateDir = join(server.dataDir, "state");
        const recorded = await waitUntil(
          "the report recorded",
          async () => {
            const found = await recordedReports(stateDir);
            return found.length > 0 ? found : undefined;
          },
          RECORDED_WITHIN_MS,
        );
        expect(recorded).toEqual([
          expect.objectContaining({ mac: A, report: { state: "ok", config_etag: '"abc"', firmware_version: "3.0" } }),
        ]);

        await device.report(B, '{"state": ');
        const metrics = async () => (await fetch(`${server.url}/metrics`)).text();
        await waitUntil(
          "the malformed report counted",
          async () => metricValue(await metrics(), "iot_device_status_reports_total", { state: "invalid" }) === 1,
        );
        expect(metricValue(await metrics(), "iot_device_status_reports_total", { state: "ok" })).toBe(1);
        expect(server.lines().filter((l) => l.msg === "refused a device's status message")).toEqual([
          expect.objectContaining({ level: "warn", mac: B, field: "body", length: 10 }),
        ]);
        expect(await recordedReports(stateDir)).toHaveLength(1);
        expect(await server.stop("SIGTERM")).toBe(0);
      } finally {
        await device.close();
        await server.cleanup();
      }
    });
  }
});
