/**
 * runFleet(options): one whole simulator run, callable in-process (tests, the
 * benchmark runner) as well as from the CLI. It owns everything it starts (broker,
 * server, temp folders, a thousand MQTT clients, HTTP pools) and stops all of it
 * before returning or throwing, including when `signal` is aborted (Ctrl-C).
 */
import { randomBytes } from "node:crypto";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { loadSigningKey } from "../../src/cli/signing-key.js";
import { createAdmin } from "./admin.js";
import { createCleanup } from "./cleanup.js";
import { createDevice, type Device } from "./device.js";
import { createDeviceHttp } from "./device-http.js";
import { FleetError, throwIfAborted } from "./errors.js";
import { describeFds, grownKinds, settledFds, steadyFds } from "./fds.js";
import { createHttpErrors } from "./http-errors.js";
import { type StartedResource, startInfrastructure } from "./infra.js";
import { forEachLimited } from "./limit.js";
import { checkOptions, type FleetOptions, withDefaults } from "./options.js";
import { buildReport, type FleetReport, problemsOf } from "./report.js";
import { runScenario } from "./scenario.js";

export type { FleetOptions } from "./options.js";
export type { FleetReport } from "./report.js";

export interface FleetHooks {
  /** Aborting stops the run at the next step; everything started is still cleaned up. */
  signal?: AbortSignal;
  /** Progress lines (the CLI prints them on stderr). */
  log?(line: string): void;
  /** Told of each process the run starts, before anything else can fail. */
  started?(resource: StartedResource): void;
}

/** Devices disconnected at once at the end; ending a client is cheap, but a thousand at once floods the broker. */
const CLOSE_CONCURRENCY = 200;

/**
 * A locally administered (02-…) MAC per device, numbered from 1: the same devices
 * every run, so a run against a long-lived server overwrites its own configs only.
 */
export function macOf(index: number): string {
  const n = index + 1;
  const bytes = [0x02, 0xf1, 0xee, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join("-");
}

export async function runFleet(
  input: Partial<FleetOptions> & { devices: number },
  hooks: FleetHooks = {},
): Promise<FleetReport> {
  const options = withDefaults(input);
  checkOptions(options);
  const log = hooks.log ?? (() => {});
  const { signal } = hooks;
  const cleanup = createCleanup();
  const errors = createHttpErrors();
  const runId = randomBytes(4).toString("hex");
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  cleanup.add("stop the event-loop monitor", () => {
    loopDelay.disable();
  });

  let report: FleetReport | undefined;
  try {
    const infra = await startInfrastructure(options, cleanup, hooks.started ?? (() => {}));
    throwIfAborted(signal);
    const key = await loadSigningKey(infra.keyPath).catch((error: unknown) => {
      throw new FleetError("SETUP", error instanceof Error ? error.message : String(error), { cause: error });
    });
    const admin = createAdmin(infra.serverUrl, options.token, options.saveConcurrency, errors);
    cleanup.add("close the admin connections", () => admin.close());
    const http = createDeviceHttp(infra.serverUrl, options.fetchConcurrency, errors);
    cleanup.add("close the device connections", () => http.close());
    log(`broker ${infra.brokerUrl}, server ${infra.serverUrl}`);
    await admin.waitUntilNotifying(signal);

    const pid = infra.serverPid;
    const before = pid === undefined ? undefined : await steadyFds(pid);
    const kindsBefore = pid === undefined ? undefined : await describeFds(pid);
    const devices = Array.from({ length: options.devices }, (_, i) =>
      createDevice({
        mac: macOf(i),
        brokerUrl: infra.brokerUrl,
        mqttVersion: options.mqttVersion,
        perDeviceTopics: options.perDeviceTopics,
        http,
        clientIdPrefix: `fleet-${runId}`,
      }),
    );
    cleanup.add("disconnect the devices", () => closeAll(devices));

    const measurements = await runScenario({ devices, admin, key, options, runId, signal, log });

    // Everything of ours that touches the server goes before its descriptors are counted again.
    await closeAll(devices);
    http.close();
    admin.close();
    const after = pid === undefined || before === undefined ? undefined : await settledFds(pid, before);
    const kindsAfter = pid === undefined ? undefined : await describeFds(pid);
    const grown = kindsBefore && kindsAfter ? grownKinds(kindsBefore, kindsAfter) : undefined;
    loopDelay.disable();
    report = buildReport({
      options,
      records: devices.map((d) => d.record),
      measurements,
      errors,
      fds: { before, after, grown },
      brokerDrops: infra.brokerDrops(),
      serverWarnings: infra.serverWarnings(),
      eventLoopDelayMs: {
        p99: Math.round(loopDelay.percentile(99) / 1e5) / 10,
        max: Math.round(loopDelay.max / 1e5) / 10,
      },
    });
    // The cleanup below still runs, and adds its own failures to this same report.
    return report;
  } finally {
    log("cleaning up");
    const failures = await cleanup.run();
    for (const failure of failures) log(`cleanup failed: ${failure}`);
    if (report) {
      report.cleanupFailures = failures;
      report.problems = problemsOf(report);
      report.ok = report.problems.length === 0;
    }
  }
}

/** Disconnects every device; idempotent, so the cleanup may call it again after the scenario did. */
async function closeAll(devices: Device[]): Promise<void> {
  await forEachLimited(devices, CLOSE_CONCURRENCY, (device) => device.close());
}
