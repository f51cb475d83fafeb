/**
 * The fleet simulator's reports (bench/fleet-sim.ts) as benchmark lines, one figure each,
 * in the `name: value unit (ratio× baseline)` form run.ts tabulates and judges. A figure
 * the run could not measure is NaN, which misses any goal it has.
 */
import type { FleetReport } from "../tools/fleet/fleet.js";
import type { Spread } from "../tools/fleet/stats.js";
import { report } from "./support/stats.js";

interface Snapshot {
  serverRss: number | undefined;
  brokerRss: number | undefined;
  disk: number | undefined;
}

/** The server's and broker's memory and the server's storage, at its start and once every device was current. */
export interface Usage {
  before: Snapshot;
  after: Snapshot;
}

export interface FleetSimRuns {
  http: FleetReport;
  mqtt: FleetReport;
  failing: FleetReport;
  usage: Usage | undefined;
}

const seconds = (ms: number | null | undefined) => (ms === null || ms === undefined ? Number.NaN : ms / 1000);
const at = (s: Spread | null, p: "p50" | "p99") => s?.[p] ?? Number.NaN;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Growth of one snapshot figure per device, in KiB (NaN when either side is missing). */
function perDevice(usage: Usage | undefined, key: keyof Snapshot, devices: number, whole = false): number {
  const before = usage?.before[key];
  const after = usage?.after[key];
  if (before === undefined || after === undefined) return Number.NaN;
  return ((whole ? after : after - before) / devices) * (1 / 1024);
}

export function fleetSimLines(devices: number, runs: FleetSimRuns): string[] {
  const { http, mqtt, failing, usage } = runs;
  const all = [http, mqtt, failing];
  const L = `fleet sim ${devices} devices`;
  const fds = (r: FleetReport) =>
    r.serverFds.before === null || r.serverFds.after === null ? Number.NaN : r.serverFds.after - r.serverFds.before;
  const lines = [
    report(`${L}, converged (HTTP reports)`, http.converged.all, "devices", devices, 0),
    report(
      `${L}, every device current in the fleet view after the last save (HTTP reports)`,
      seconds(http.fleetView.allCurrentAfterMs),
      "s",
      undefined,
      1,
    ),
    report(
      `${L}, config convergence p50 (save response → fetch done)`,
      at(http.configConvergenceMs, "p50"),
      "ms",
      undefined,
      0,
    ),
    report(`${L}, config convergence p99`, at(http.configConvergenceMs, "p99"), "ms", undefined, 0),
    report(
      `${L}, status report acknowledged p50 (save response → 204)`,
      at(http.reports.convergenceMs, "p50"),
      "ms",
      undefined,
      0,
    ),
    report(`${L}, status report acknowledged p99`, at(http.reports.convergenceMs, "p99"), "ms", undefined, 0),
    report(
      `${L}, firmware convergence p50 (upload response → header read)`,
      at(http.firmwareConvergenceMs, "p50"),
      "ms",
      undefined,
      0,
    ),
    report(`${L}, firmware convergence p99`, at(http.firmwareConvergenceMs, "p99"), "ms", undefined, 0),
    report(`${L}, connect every device`, seconds(http.connect.totalMs), "s", undefined, 1),
    report(`${L}, config save response p50 (50 in flight)`, at(http.saves.responseMs, "p50"), "ms", undefined, 0),
    report(`${L}, config save response p99 (50 in flight)`, at(http.saves.responseMs, "p99"), "ms", undefined, 0),
    report(
      `${L}, storage writes for read records per device per 10 s (HTTP reports)`,
      http.recordWrites?.perDevicePer10s ?? Number.NaN,
      "writes",
      undefined,
      5,
    ),
    report(
      `${L}, simulator event-loop delay p99 (worst process, HTTP reports)`,
      http.simulatorEventLoopDelayMs.p99,
      "ms",
      undefined,
      0,
    ),
    report(`${L}, server memory per recorded device`, perDevice(usage, "serverRss", devices), "KiB", undefined, 2),
    report(`${L}, broker memory per connected device`, perDevice(usage, "brokerRss", devices), "KiB", undefined, 2),
    report(
      `${L}, storage per device (configs and records, on disk)`,
      perDevice(usage, "disk", devices, true),
      "KiB",
      undefined,
      2,
    ),
    report(`${L}, converged (MQTT reports)`, mqtt.converged.all, "devices", devices, 0),
    report(
      `${L}, every device current with its report after the last save (MQTT reports)`,
      seconds(mqtt.fleetView.allCurrentAfterMs),
      "s",
      undefined,
      1,
    ),
    report(
      `${L}, report PUBACK p50 (MQTT reports, save response → broker's acknowledgement)`,
      at(mqtt.reports.convergenceMs, "p50"),
      "ms",
      undefined,
      0,
    ),
    report(`${L}, report PUBACK p99 (MQTT reports)`, at(mqtt.reports.convergenceMs, "p99"), "ms", undefined, 0),
    report(
      `${L}, storage writes for read records per device per 10 s (MQTT reports)`,
      mqtt.recordWrites?.perDevicePer10s ?? Number.NaN,
      "writes",
      undefined,
      5,
    ),
    report(`${L}, HTTP errors (all three runs)`, sum(all.map((r) => r.httpErrors.count)), "errors", undefined, 0),
    report(`${L}, MQTT errors (all three runs)`, sum(all.map((r) => r.mqtt.errors)), "errors", undefined, 0),
    report(
      `${L}, MQTT reconnects (all three runs)`,
      sum(all.map((r) => r.mqtt.reconnects)),
      "reconnects",
      undefined,
      0,
    ),
    report(
      `${L}, broker drops (all three runs)`,
      sum(all.map((r) => r.brokerDrops?.length ?? Number.NaN)),
      "lines",
      undefined,
      0,
    ),
    report(`${L}, server descriptors after minus before (all three runs)`, sum(all.map(fds)), "fds", undefined, 0),
  ];
  return [...lines, ...rolloutLines(devices, http, failing)];
}

function rolloutLines(devices: number, ok: FleetReport, failing: FleetReport): string[] {
  const R = `fleet rollout over ${devices} devices (waves ${ok.rollout?.plan.waves.join(",") ?? "?"} %)`;
  const lines: string[] = [];
  const done = ok.rollout;
  lines.push(
    report(`${R}, no device failing, applied`, done?.counts?.applied ?? Number.NaN, "devices", devices, 0),
    report(
      `${R}, no device failing, ended after`,
      seconds(done?.endedAfterMs),
      `s (state ${done?.state ?? "none"})`,
      undefined,
      1,
    ),
  );
  done?.waves.forEach((wave, k) => {
    const name = `${R}, no device failing, wave ${k + 1} (${wave.devices} devices) release → next release or end`;
    lines.push(report(name, seconds(wave.msToNext), "s", undefined, 1));
  });
  const halt = failing.rollout;
  const share = Math.round((halt?.plan.failShare ?? Number.NaN) * 100);
  const released = halt?.waves.filter((w) => w.releasedAfterMs !== null).length ?? Number.NaN;
  const counts = halt?.counts;
  const what = counts ? `, ${counts.released} released: ${counts.applied} applied, ${counts.failed} failed` : "";
  lines.push(
    report(
      `${R}, ${share} % failing, waves released before the halt`,
      halt?.state === "halted" ? released : Number.NaN,
      `waves (state ${halt?.state ?? "none"}${what})`,
      undefined,
      0,
    ),
    report(`${R}, ${share} % failing, halted after`, seconds(halt?.endedAfterMs), "s", undefined, 1),
    report(
      `${R}, ${share} % failing, share of the fleet whose config changed`,
      halt?.changed?.percent ?? Number.NaN,
      halt?.changed ? `% (${halt.changed.devices} of ${halt.changed.of} ETags)` : "%",
      undefined,
      1,
    ),
  );
  return lines;
}
