/**
 * The fleet simulator (tools/fleet) against a real Mosquitto and a real server: every
 * device converges with no HTTP error, each device hears exactly the messages its
 * subscription implies, the server holds no more descriptors after the run than before,
 * everything the run started is gone afterwards (also when it is interrupted), and the
 * CLI prints one JSON object. The device's ETag rule (skip on MQTT 5, 304 on 3.1.1) is
 * checked on one device. Nothing here asserts a duration: the machine is shared.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDevice, type Device, type DeviceRecord } from "../tools/fleet/device.js";
import { createDeviceHttp, type DeviceHttp } from "../tools/fleet/device-http.js";
import { isFleetError } from "../tools/fleet/errors.js";
import { type FleetReport, macOf, runFleet } from "../tools/fleet/fleet.js";
import { createHttpErrors } from "../tools/fleet/http-errors.js";
import type { StartedResource } from "../tools/fleet/infra.js";
import { type Broker, mosquittoAvailable, startBroker } from "./support/mosquitto.js";
import { isAlive } from "./support/process-alive.js";
import { ROOT, type SpawnedServer, spawnServer } from "./support/server.js";
import { waitUntil } from "./support/wait.js";

const available = mosquittoAvailable();
const DEVICES = 20;
/** Long enough for a loaded 2-core machine to start a broker and a server and run 20 devices. */
const RUN_TIMEOUT_MS = 180_000;

/** Nothing the run started is left: no process running, no folder on disk. */
function expectAllGone(started: StartedResource[]) {
  expect(started.map((r) => r.kind).sort()).toEqual(["broker", "server"]);
  for (const resource of started) {
    expect(isAlive(resource.pid), `${resource.kind} ${resource.pid} still running`).toBe(false);
    if (resource.dir) expect(existsSync(resource.dir), `${resource.dir} still there`).toBe(false);
  }
}

describe.skipIf(!available)("fleet simulator, in process", () => {
  it.each([
    { perDeviceTopics: false, configMessages: DEVICES },
    { perDeviceTopics: true, configMessages: 1 },
  ])(
    `${DEVICES} devices, per-device topics $perDeviceTopics: all converge, $configMessages config message(s) each`,
    async ({ perDeviceTopics, configMessages }) => {
      const started: StartedResource[] = [];
      const report: FleetReport = await runFleet(
        { devices: DEVICES, perDeviceTopics, firmwareBytes: 64 * 1024 },
        { started: (resource) => started.push(resource) },
      );

      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.converged).toEqual({ config: DEVICES, firmware: DEVICES, all: DEVICES });
      expect(report.httpErrors.count).toBe(0);
      expect(report.configConvergenceMs).not.toBeNull();
      expect(report.firmwareConvergenceMs).not.toBeNull();
      // The devices' own save is the only one each of them fetched for, once.
      expect(report.fetches).toMatchObject({ ok200: DEVICES, notModified304: 0, failed: 0, firmwareHeaders: DEVICES });
      // Shared topic: every device hears every save; its own topic: only its own. Plus the one asset message.
      expect(report.configMessagesPerDevice).toEqual({
        min: configMessages,
        mean: configMessages,
        max: configMessages,
      });
      expect(report.messagesPerDevice).toEqual({
        min: configMessages + 1,
        mean: configMessages + 1,
        max: configMessages + 1,
      });
      // Exact, no tolerance: every socket the simulator opened is destroyed before the second count,
      // which is polled until the server has closed its side; a descriptor left after that is kept.
      expect(report.serverFds.before).toBeTypeOf("number");
      expect(report.serverFds.after).toBeTypeOf("number");
      expect(report.serverFds.after as number).toBeLessThanOrEqual(report.serverFds.before as number);
      expect(report.serverWarnings).toEqual([]);
      expect(report.brokerDrops).toEqual([]);
      expect(report.cleanupFailures).toEqual([]);
      expectAllGone(started);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "an interrupted run stops the broker and the server and removes the server's folder",
    async () => {
      const started: StartedResource[] = [];
      const controller = new AbortController();
      const run = runFleet(
        { devices: 5 },
        {
          signal: controller.signal,
          started: (resource) => started.push(resource),
          // Interrupted once the devices are connected, like Ctrl-C in the middle of the run.
          log: (line) => {
            if (line.startsWith("saving")) controller.abort();
          },
        },
      );
      const error = await run.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isFleetError(error) && error.code).toBe("ABORTED");
      expectAllGone(started);
    },
    RUN_TIMEOUT_MS,
  );
});

describe.skipIf(!available)("fleet simulator, one device's ETag rule", () => {
  let broker: Broker;
  let server: SpawnedServer;
  let http: DeviceHttp;
  const errors = createHttpErrors();
  const mac = macOf(0);

  beforeAll(async () => {
    broker = await startBroker();
    server = await spawnServer({ MQTT_URL: broker.tcpUrl });
    http = createDeviceHttp(server.url, 4, errors);
    await waitUntil("the server's MQTT sink to connect", async () => {
      const health = (await (await fetch(`${server.url}/api/health`)).json()) as { notifications: { ready: boolean } };
      return health.notifications.ready;
    });
  });
  afterAll(async () => {
    http?.close();
    await server?.cleanup();
    await broker?.cleanup();
  });

  const save = async (content: Record<string, unknown>) => {
    const res = await fetch(`${server.url}/api/configs/${mac}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ content }),
    });
    expect(res.status).toBe(200);
  };
  const outcomes = (record: DeviceRecord) => record.fetches.map((f) => f.outcome);

  it.each([
    { mqttVersion: 5 as const, unchanged: "skipped" },
    { mqttVersion: 4 as const, unchanged: 304 },
  ])(
    "MQTT $mqttVersion: an unchanged config is $unchanged, a changed one fetched",
    async ({ mqttVersion, unchanged }) => {
      const device: Device = createDevice({
        mac,
        brokerUrl: broker.tcpUrl,
        mqttVersion,
        perDeviceTopics: false,
        http,
        clientIdPrefix: `etag-test-${mqttVersion}`,
      });
      try {
        await device.connect();
        const { record } = device;
        await save({ deviceName: `v${mqttVersion}-one` });
        await waitUntil("the first fetch", () => record.fetches.length === 1);
        const firstEtag = record.etag;
        expect(firstEtag).toMatch(/^"[0-9a-f]{64}"$/);

        // Same bytes, same ETag: MQTT 5 announces it and the device skips; 3.1.1 cannot, so it asks and gets 304.
        await save({ deviceName: `v${mqttVersion}-one` });
        await waitUntil("the second notification handled", () => record.fetches.length === 2);
        expect(record.etag).toBe(firstEtag);

        await save({ deviceName: `v${mqttVersion}-two` });
        await waitUntil("the third notification handled", () => record.fetches.length === 3);
        expect(outcomes(record)).toEqual([200, unchanged, 200]);
        expect(record.etag).not.toBe(firstEtag);
        expect(record.configMessages).toBe(3);
        expect(errors.count()).toBe(0);
      } finally {
        await device.close();
      }
    },
  );
});

describe.skipIf(!available)("fleet simulator, the command line", () => {
  it(
    "npm run fleet -- --devices 5 --json prints one JSON report and exits 0",
    async () => {
      const { stdout } = await promisify(execFile)("npm", ["run", "fleet", "--", "--devices", "5", "--json"], {
        cwd: ROOT,
        timeout: RUN_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
      });
      // npm prints its own "> script" header on stdout first; the report is the one JSON line.
      const lines = stdout.split("\n").filter((line) => line.startsWith("{"));
      expect(lines).toHaveLength(1);
      const report = JSON.parse(lines[0] as string) as FleetReport;
      expect(report).toMatchObject({ ok: true, devices: 5, topics: "shared", httpErrors: { count: 0 } });
      expect(report.converged.all).toBe(5);
      expect(report.configMessagesPerDevice).toEqual({ min: 5, mean: 5, max: 5 });
    },
    RUN_TIMEOUT_MS,
  );
});
