/**
 * The fleet simulator's devices report what they applied, and the run waits for the
 * server's fleet view (GET /api/devices) to show every device current: over HTTP and over
 * MQTT (the private server then subscribes with MQTT_STATUS_TOPICS=true), with each device's
 * own token (DEVICE_AUTH=device, tokens issued through the admin API), with devices in
 * this process or in two shards (child processes, all gone afterwards), and a run whose
 * device never applies its config fails saying which device and why. Against a real
 * Mosquitto and a real server; nothing here asserts a duration.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { NEVER_APPLIED_ETAG } from "../tools/fleet/device-report.js";
import { isFleetError } from "../tools/fleet/errors.js";
import { type FleetReport, macOf, runFleet } from "../tools/fleet/fleet.js";
import type { StartedResource } from "../tools/fleet/infra.js";
import { mosquittoAvailable } from "./support/mosquitto.js";
import { isAlive } from "./support/process-alive.js";
import { ROOT } from "./support/server.js";

const available = mosquittoAvailable();
const DEVICES = 8;
const RUN_TIMEOUT_MS = 180_000;

function expectGone(started: StartedResource[]) {
  for (const resource of started) {
    expect(isAlive(resource.pid), `${resource.kind} ${resource.pid} still running`).toBe(false);
    if (resource.dir) expect(existsSync(resource.dir), `${resource.dir} still there`).toBe(false);
  }
}

function expectAllCurrent(report: FleetReport) {
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
  expect(report.converged.all).toBe(report.devices);
  expect(report.reports.ok).toBe(report.devices);
  expect(report.reports.failed).toBe(0);
  expect(report.reports.convergenceMs).not.toBeNull();
  expect(report.fleetView.failure).toBeNull();
  expect(report.fleetView.allCurrentAfterMs).toBeTypeOf("number");
  expect(report.fleetView.counts.current).toBe(report.devices);
  // Counted from the server's own metric; the bound is SPEC's (one per device per 10 s).
  expect(report.recordWrites?.source).toBe("metrics");
  expect(report.recordWrites?.perDevicePer10s).toBeLessThanOrEqual(1);
  expect(report.httpErrors.count).toBe(0);
  expect(report.serverWarnings).toEqual([]);
}

describe.skipIf(!available)("fleet simulator, reports and the fleet view", () => {
  it.each([
    { mode: "http" as const, deviceTokens: false },
    { mode: "mqtt" as const, deviceTokens: false },
    { mode: "http" as const, deviceTokens: true },
  ])(
    `${DEVICES} devices report over $mode (own tokens: $deviceTokens): the fleet view shows every one current, with its report`,
    async ({ mode, deviceTokens }) => {
      const started: StartedResource[] = [];
      const report = await runFleet(
        { devices: DEVICES, report: mode, deviceTokens, perDeviceTopics: true, firmwareBytes: 64 * 1024 },
        { started: (resource) => started.push(resource) },
      );
      expectAllCurrent(report);
      expect(report.reports.mode).toBe(mode);
      expect(report.shards).toBe(1);
      expectGone(started);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "two shards: every device current, each shard a child process, all of them gone afterwards",
    async () => {
      const started: StartedResource[] = [];
      const report = await runFleet(
        { devices: DEVICES, shards: 2, perDeviceTopics: true, firmwareBytes: 64 * 1024 },
        { started: (resource) => started.push(resource) },
      );
      expectAllCurrent(report);
      expect(report.shards).toBe(2);
      const shards = started.filter((r) => r.kind === "shard");
      expect(shards).toHaveLength(2);
      expect(new Set(shards.map((s) => s.pid)).size).toBe(2);
      expect(shards.map((s) => s.pid)).not.toContain(process.pid);
      // Every device's record came back from its shard, in fleet order.
      expect(report.converged).toEqual({ config: DEVICES, firmware: DEVICES, all: DEVICES });
      expectGone(started);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "an interrupted sharded run leaves no shard running",
    async () => {
      const started: StartedResource[] = [];
      const controller = new AbortController();
      const error = await runFleet(
        { devices: 4, shards: 2 },
        {
          signal: controller.signal,
          started: (resource) => started.push(resource),
          // Like Ctrl-C once the shards' devices are connected.
          log: (line) => {
            if (line.startsWith("saving")) controller.abort();
          },
        },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isFleetError(error) && error.code).toBe("ABORTED");
      expect(started.filter((r) => r.kind === "shard")).toHaveLength(2);
      expectGone(started);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "a device that never applies its config: the run fails, naming it behind in the fleet view",
    async () => {
      const started: StartedResource[] = [];
      const report = await runFleet(
        { devices: 4, failingDevices: 1, viewTimeoutSeconds: 3, firmwareBytes: 64 * 1024 },
        { started: (resource) => started.push(resource) },
      );
      expect(report.ok).toBe(false);
      // The simulator saw it fetch and report; only the server's view says it is not running its config.
      expect(report.converged.all).toBe(4);
      expect(report.fleetView.allCurrentAfterMs).toBeNull();
      expect(report.fleetView.counts).toMatchObject({ current: 3, behind: 1, unseen: 0 });
      const failure = report.fleetView.failure as string;
      expect(failure).toContain("the fleet view did not show every device current within 3 s");
      expect(failure).toContain(`${macOf(0)}: behind`);
      expect(failure).toContain(NEVER_APPLIED_ETAG);
      expect(report.problems).toContain(failure);
      expectGone(started);
    },
    RUN_TIMEOUT_MS,
  );
});

describe.skipIf(!available)("fleet simulator, descriptor limits", () => {
  it(
    "a broker that could not hold every device's connection stops the run at set-up (exit 3), saying why",
    async () => {
      // The limit the private Mosquitto inherits, made too small for 1,000 devices.
      const run = promisify(execFile)("sh", ["-c", "ulimit -n 400 && exec npm run fleet -- --devices 1000"], {
        cwd: ROOT,
        timeout: RUN_TIMEOUT_MS,
      });
      const error = (await run.then(
        () => undefined,
        (e: unknown) => e,
      )) as { code?: number; stderr?: string } | undefined;
      expect(error?.code).toBe(3);
      expect(error?.stderr).toMatch(/the private Mosquitto may open 400 files .* 1000 devices need about 1100/);
    },
    RUN_TIMEOUT_MS,
  );
});
