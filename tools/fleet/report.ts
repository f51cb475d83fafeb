/**
 * The run's figures, from what the devices recorded and the scenario timed. Times are
 * milliseconds; convergence runs from each save's (or the upload's) response to the
 * moment that device finished its fetch, so it is what an operator waits for after
 * the admin API has answered. A fetch can finish before the driver has read its own
 * save's response (both share one event loop): that counts as 0, not as negative.
 */
import type { DeviceRecord } from "./device.js";
import type { ReportMode } from "./device-report.js";
import type { FleetViewOutcome } from "./fleet-view.js";
import type { HttpErrorSample, HttpErrors } from "./http-errors.js";
import type { FleetOptions } from "./options.js";
import type { RecordWrites } from "./record-writes.js";
import type { RolloutOutcome } from "./rollout.js";
import { rolloutProblems } from "./rollout-report.js";
import type { Measurements } from "./scenario.js";
import { configFetchFor, headerReadFor, reportFor, type Timed } from "./settled.js";
import { type Range, range, type Spread, spread } from "./stats.js";

export interface FleetReport {
  /** Every device converged and was current in the fleet view, no HTTP request failed, writes within bound. */
  ok: boolean;
  /** Why `ok` is false, in words. */
  problems: string[];
  devices: number;
  /** Processes that held the devices (1: the driver itself). */
  shards: number;
  topics: "shared" | "per-device";
  mqttVersion: 4 | 5;
  connect: { totalMs: number; perDeviceMs: Spread | null; failed: number };
  saves: { ok: number; failed: number; responseMs: Spread | null };
  firmware: { bytes: number; uploaded: boolean; uploadMs: number | null };
  /** `all`: config fetched, firmware header read and (unless --report none) the config reported. */
  converged: { config: number; firmware: number; all: number };
  /** Status reports: how they went, and from each save's response to the device's report acknowledged. */
  reports: { mode: ReportMode; ok: number; failed: number; convergenceMs: Spread | null };
  /** The server's view: how long after the last save it showed every device current. */
  fleetView: FleetViewOutcome & { timeoutSeconds: number };
  /** Storage writes for read records, counted from /metrics; null when the server does not say. */
  recordWrites: (RecordWrites & { source: "metrics" }) | null;
  /** Whether the server was expected to count them (our own server is; an external one may be older). */
  recordWritesExpected: boolean;
  /** From each save's response to that device's completed config fetch. */
  configConvergenceMs: Spread | null;
  /** From the upload's response to each device's completed header read. */
  firmwareConvergenceMs: Spread | null;
  /** Config and asset notifications each device received (its own and other devices'). */
  messagesPerDevice: Range | null;
  configMessagesPerDevice: Range | null;
  fetches: {
    ok200: number;
    notModified304: number;
    /** Checks after a reconnect that found no config saved yet (the server's true answer, not an error). */
    absent404: number;
    skippedByEtag: number;
    failed: number;
    firmwareHeaders: number;
  };
  httpErrors: {
    count: number;
    byKind: Record<string, number>;
    samples: HttpErrorSample[];
    /** GETs and PUTs sent again after the server closed an idle keep-alive connection under them. */
    keepAliveRetries: number;
  };
  /** Open descriptors of the server; null when not countable ("n/a"). */
  serverFds: {
    before: number | null;
    after: number | null;
    /** Kinds of descriptor ("socket", a file path) more numerous after than before. */
    grown: Record<string, number> | null;
  };
  mqtt: { reconnects: number; errors: number; firstError: string | null; malformedMessages: number };
  /** Private broker only: its log lines saying messages were dropped (queue full). */
  brokerDrops: string[] | null;
  /** Private server only: its warning and error log lines. */
  serverWarnings: string[] | null;
  /** How late the simulator's own event loop ran: every time above includes up to this much of it. */
  simulatorEventLoopDelayMs: { p99: number; max: number };
  waitedMs: number;
  timedOut: boolean;
  cleanupFailures: string[];
  /** --rollout: the rollout phase after convergence; null without it. */
  rollout: RolloutOutcome | null;
}

export interface ReportInputs {
  options: FleetOptions;
  shards: number;
  records: DeviceRecord[];
  measurements: Measurements;
  view: FleetViewOutcome;
  recordWrites: RecordWrites | undefined;
  recordWritesExpected: boolean;
  errors: HttpErrors;
  fds: { before: number | undefined; after: number | undefined; grown: Record<string, number> | undefined };
  brokerDrops: string[] | undefined;
  serverWarnings: string[] | undefined;
  eventLoopDelayMs: { p99: number; max: number };
  rollout?: RolloutOutcome;
}

const ms = (value: number) => Math.round(value * 10) / 10;

export function buildReport(inputs: ReportInputs): FleetReport {
  const { options, records, measurements: m, errors } = inputs;
  const configTimes: number[] = [];
  const firmwareTimes: number[] = [];
  const reportTimes: number[] = [];
  const reporting = options.report !== "none";
  const reports = { ok: 0, failed: 0 };
  let configDone = 0;
  let firmwareDone = 0;
  let allDone = 0;
  const fetches = { ok200: 0, notModified304: 0, absent404: 0, skippedByEtag: 0, failed: 0, firmwareHeaders: 0 };
  const mqtt = { reconnects: 0, errors: 0, firstError: null as string | null, malformedMessages: 0 };

  records.forEach((record, i) => {
    const save = m.saves[i] as Timed;
    const fetch = configFetchFor(record, save);
    const configOk = fetch !== undefined && fetch.outcome !== "error";
    if (configOk) {
      configDone++;
      configTimes.push(Math.max(0, fetch.doneAt - save.respondedAt));
    }
    // A 304 or a skip brings nothing new to report; only a 200 must be followed by an acknowledged report.
    const sent = configOk && fetch.outcome === 200 ? reportFor(record, fetch) : undefined;
    const reportOk = !reporting || (configOk && (fetch.outcome !== 200 || sent?.ok === true));
    if (sent?.ok) reportTimes.push(Math.max(0, sent.doneAt - save.respondedAt));
    for (const r of record.reports) {
      if (r.ok) reports.ok++;
      else reports.failed++;
    }
    const read = headerReadFor(record, m.upload);
    const firmwareOk = read?.ok === true && m.upload !== undefined;
    if (firmwareOk && m.upload) {
      firmwareDone++;
      firmwareTimes.push(Math.max(0, read.doneAt - m.upload.respondedAt));
    }
    if (configOk && firmwareOk && reportOk) allDone++;
    for (const f of record.fetches) {
      if (f.outcome === 200) fetches.ok200++;
      else if (f.outcome === 304) fetches.notModified304++;
      else if (f.outcome === 404) fetches.absent404++;
      else if (f.outcome === "skipped") fetches.skippedByEtag++;
      else fetches.failed++;
    }
    fetches.firmwareHeaders += record.headerReads.filter((r) => r.ok).length;
    mqtt.reconnects += record.reconnects;
    mqtt.errors += record.mqttErrors;
    mqtt.firstError ??= record.firstMqttError ?? null;
    mqtt.malformedMessages += record.malformedMessages;
  });

  const savesOk = m.saves.filter((s) => s.ok).length;
  const report: FleetReport = {
    ok: false,
    problems: [],
    devices: options.devices,
    shards: inputs.shards,
    topics: options.perDeviceTopics ? "per-device" : "shared",
    mqttVersion: options.mqttVersion,
    connect: {
      totalMs: ms(m.connect.totalMs),
      perDeviceMs: spread(m.connect.perDeviceMs),
      failed: m.connect.failures.length,
    },
    saves: {
      ok: savesOk,
      failed: m.saves.length - savesOk,
      responseMs: spread(m.saves.filter((s) => s.ok).map((s) => s.respondedAt - s.sentAt)),
    },
    firmware: {
      bytes: options.firmwareBytes,
      uploaded: m.upload?.ok ?? false,
      uploadMs: m.upload ? ms(m.upload.respondedAt - m.upload.sentAt) : null,
    },
    converged: { config: configDone, firmware: firmwareDone, all: allDone },
    reports: { mode: options.report, ...reports, convergenceMs: spread(reportTimes) },
    fleetView: { ...inputs.view, timeoutSeconds: options.viewTimeoutSeconds },
    recordWrites: inputs.recordWrites ? { ...inputs.recordWrites, source: "metrics" } : null,
    recordWritesExpected: inputs.recordWritesExpected,
    configConvergenceMs: spread(configTimes),
    firmwareConvergenceMs: spread(firmwareTimes),
    messagesPerDevice: range(records.map((r) => r.configMessages + r.assetMessages)),
    configMessagesPerDevice: range(records.map((r) => r.configMessages)),
    fetches,
    httpErrors: {
      count: errors.count(),
      byKind: errors.byKind(),
      samples: errors.samples(),
      keepAliveRetries: errors.retries(),
    },
    serverFds: {
      before: inputs.fds.before ?? null,
      after: inputs.fds.after ?? null,
      grown: inputs.fds.grown ?? null,
    },
    mqtt,
    brokerDrops: inputs.brokerDrops ?? null,
    serverWarnings: inputs.serverWarnings ?? null,
    simulatorEventLoopDelayMs: inputs.eventLoopDelayMs,
    waitedMs: ms(m.waitedMs),
    timedOut: m.timedOut,
    cleanupFailures: [],
    rollout: inputs.rollout ?? null,
  };
  report.problems = problemsOf(report);
  report.ok = report.problems.length === 0;
  return report;
}

/** The reasons a run failed; empty when every device converged with no HTTP error. */
export function problemsOf(report: FleetReport): string[] {
  const problems: string[] = [];
  if (report.converged.all < report.devices) {
    problems.push(
      `${report.devices - report.converged.all} of ${report.devices} devices did not converge` +
        ` (config ${report.converged.config}, firmware ${report.converged.firmware}${report.timedOut ? ", deadline reached" : ""})`,
    );
  }
  if (report.configMessagesPerDevice?.max === 0 && report.saves.ok > 0) {
    problems.push(
      report.topics === "per-device"
        ? "no device received a config message: is the server publishing with MQTT_DEVICE_TOPICS=true?"
        : "no device received a config message: does the server publish to this broker?",
    );
  }
  if (report.fleetView.failure) problems.push(report.fleetView.failure);
  if (report.reports.failed > 0) problems.push(`${report.reports.failed} status reports were not acknowledged`);
  if (report.recordWrites && report.recordWrites.perDevicePer10s > 1) {
    problems.push(
      `${report.recordWrites.writes} storage writes for read records in ${report.recordWrites.windowSeconds} s: ` +
        `${report.recordWrites.perDevicePer10s.toFixed(3)} per device per 10 s, more than 1`,
    );
  }
  if (!report.recordWrites && report.recordWritesExpected) {
    problems.push(
      "the server's /metrics has no iot_device_record_writes_total: storage writes for read records not counted",
    );
  }
  if (report.connect.failed > 0) problems.push(`${report.connect.failed} devices could not connect to the broker`);
  if (report.httpErrors.count > 0) problems.push(`${report.httpErrors.count} HTTP errors`);
  problems.push(...rolloutProblems(report.rollout));
  if (report.cleanupFailures.length > 0) problems.push(`cleanup failed: ${report.cleanupFailures.join("; ")}`);
  return problems;
}
