/** The report as the lines a person reads at the end of `npm run fleet`. */
import { describeHttpErrors } from "./http-errors.js";
import type { FleetReport } from "./report.js";
import { formatRollout } from "./rollout-report.js";
import type { Range, Spread } from "./stats.js";

const spreadText = (s: Spread | null, unit = "ms") =>
  s ? `p50 ${s.p50} ${unit}, p99 ${s.p99} ${unit}, max ${s.max} ${unit}` : "n/a";
const rangeText = (r: Range | null) => (r ? `min ${r.min}, mean ${r.mean}, max ${r.max}` : "n/a");
const orNa = (value: number | null) => (value === null ? "n/a" : String(value));

export function formatReport(r: FleetReport): string {
  const lines = [
    `devices:                 ${r.devices} (${r.topics} topic${r.topics === "shared" ? "" : "s"}, MQTT ${r.mqttVersion === 5 ? "5" : "3.1.1"}, ${r.shards === 1 ? "one process" : `${r.shards} shards`})`,
    `connect:                 ${r.connect.totalMs} ms for all; per device ${spreadText(r.connect.perDeviceMs)}${r.connect.failed ? `; ${r.connect.failed} failed` : ""}`,
    `config saves:            ${r.saves.ok} ok, ${r.saves.failed} failed; response ${spreadText(r.saves.responseMs)}`,
    `firmware upload:         ${r.firmware.uploaded ? "ok" : "FAILED"}, ${r.firmware.bytes} bytes in ${orNa(r.firmware.uploadMs)} ms`,
    `converged:               ${r.converged.all}/${r.devices} (config ${r.converged.config}, firmware ${r.converged.firmware})${r.timedOut ? " — deadline reached" : ""}`,
    `config convergence:      ${spreadText(r.configConvergenceMs)} (save response → device fetch done)`,
    `firmware convergence:    ${spreadText(r.firmwareConvergenceMs)} (upload response → header read done)`,
    `status reports:          ${r.reports.mode === "none" ? "none (--report none)" : `${r.reports.ok} ok, ${r.reports.failed} failed over ${r.reports.mode}; ${spreadText(r.reports.convergenceMs)} (save response → report acknowledged)`}`,
    `fleet view:              ${viewText(r)}`,
    `record writes (reads):   ${writesText(r)}`,
    `messages per device:     ${rangeText(r.messagesPerDevice)} (config messages: ${rangeText(r.configMessagesPerDevice)})`,
    `config fetches:          ${r.fetches.ok200} × 200, ${r.fetches.notModified304} × 304, ${r.fetches.absent404} × 404 (checked before the save), ${r.fetches.skippedByEtag} skipped by ETag, ${r.fetches.failed} failed`,
    `firmware header reads:   ${r.fetches.firmwareHeaders}`,
    `HTTP errors:             ${describeHttpErrors(r.httpErrors.count, r.httpErrors.byKind)}; ${r.httpErrors.keepAliveRetries} sent again after the keep-alive race`,
    `server open fds:         before ${orNa(r.serverFds.before)}, after ${orNa(r.serverFds.after)}${formatKinds(r.serverFds.grown ?? {}, "+")}`,
    `MQTT:                    ${r.mqtt.reconnects} reconnects, ${r.mqtt.errors} errors${r.mqtt.firstError ? ` (first: ${r.mqtt.firstError})` : ""}, ${r.mqtt.malformedMessages} malformed messages`,
    `broker drops:            ${r.brokerDrops === null ? "n/a (external broker)" : r.brokerDrops.length}`,
    `simulator loop delay:    p99 ${r.simulatorEventLoopDelayMs.p99} ms, max ${r.simulatorEventLoopDelayMs.max} ms`,
  ];
  if (r.rollout) lines.push(...formatRollout(r.rollout));
  for (const sample of r.httpErrors.samples)
    lines.push(`  error: ${sample.operation} ${sample.kind}: ${sample.detail}`);
  for (const line of r.brokerDrops?.slice(0, 5) ?? []) lines.push(`  broker: ${line}`);
  if (r.serverWarnings && r.serverWarnings.length > 0) {
    lines.push(`server warnings:         ${r.serverWarnings.length}${countsByMessage(r.serverWarnings)}`);
    for (const line of r.serverWarnings.slice(0, 10)) lines.push(`  ${line.slice(0, 300)}`);
  }
  lines.push(r.ok ? "result:                  ok" : `result:                  FAILED: ${r.problems.join("; ")}`);
  return `${lines.join("\n")}\n`;
}

function formatKinds(byKind: Record<string, number>, sign = ""): string {
  const entries = Object.entries(byKind);
  return entries.length === 0 ? "" : ` (${entries.map(([kind, n]) => `${kind} × ${sign}${n}`).join(", ")})`;
}

function viewText(r: FleetReport): string {
  const view = r.fleetView;
  if (view.allCurrentAfterMs !== null) {
    return `every device current ${Math.round(view.allCurrentAfterMs)} ms after the last save (bound ${view.timeoutSeconds} s)`;
  }
  return `NOT every device current: ${view.failure}`;
}

function writesText(r: FleetReport): string {
  const w = r.recordWrites;
  if (!w) return "n/a (the server's /metrics has no iot_device_record_writes_total)";
  return `${w.writes} storage writes in ${w.windowSeconds} s (from /metrics): ${Number(w.perDevicePer10s.toPrecision(2))} per device per 10 s (bound 1)`;
}

/** " (2991 × warn: notification not delivered, …)": a run's warnings by level and message, so a thousand lines read as one. */
function countsByMessage(warnings: string[]): string {
  const counts = new Map<string, number>();
  for (const line of warnings) {
    const head = line.split(" {")[0] as string;
    counts.set(head, (counts.get(head) ?? 0) + 1);
  }
  return formatKinds(Object.fromEntries(counts));
}
