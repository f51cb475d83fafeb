/**
 * The server's side of convergence: from the last config save on (while devices still
 * fetch and report), poll the fleet view
 * (GET /api/devices?sync=current) until it shows every simulated device `current` and,
 * when devices report, with their report recorded (state ok, applied_etag = config_etag;
 * a fetch alone also makes a device current, so without this an ignored MQTT report would
 * go unnoticed). Gives up after a bound and then says who was not current, and why.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { DeviceRow } from "../../src/features/fleet/contract.js";
import type { Admin } from "./admin.js";
import { now } from "./clock.js";
import { throwIfAborted } from "./errors.js";

/** Half a second: the view lists up to every device, and the driver may hold devices on the same event loop. */
const POLL_MS = 500;
/** Devices named in the failure message. */
const EXAMPLES = 3;

export interface FleetViewOutcome {
  /** From the last save's response to the poll that showed every device current; null when none did. */
  allCurrentAfterMs: number | null;
  /** Our devices at the last look: current (with their report, when reporting), behind, unseen, other. */
  counts: { current: number; behind: number; unseen: number; currentWithoutReport: number; missing: number };
  /** Why the wait failed, in words; null when every device was current in time. */
  failure: string | null;
}

export interface FleetViewWait {
  admin: Admin;
  macs: readonly string[];
  /** Devices report: `current` must also show their report, not only their fetch. */
  reporting: boolean;
  /** The last config save's response (clock.ts time): where the figure starts. */
  lastChangeAt: number;
  timeoutMs: number;
  signal?: AbortSignal;
  log(line: string): void;
}

const showsReport = (row: DeviceRow) => row.state === "ok" && row.applied_etag === row.config_etag;

export async function waitForFleetView(wait: FleetViewWait): Promise<FleetViewOutcome> {
  const { admin, macs, reporting } = wait;
  const ours = new Set(macs);
  const isDone = (row: DeviceRow) => row.sync === "current" && (!reporting || showsReport(row));
  const deadline = now() + wait.timeoutMs;
  wait.log(`waiting for the fleet view to show ${macs.length} devices current`);
  for (;;) {
    throwIfAborted(wait.signal);
    const rows = await admin.listDevices("current");
    if (rows === undefined) return failed(wait, "the fleet view (GET /api/devices) could not be read; see HTTP errors");
    const done = rows.filter((row) => ours.has(row.mac_address) && isDone(row)).length;
    if (done === macs.length) {
      return {
        allCurrentAfterMs: Math.max(0, now() - wait.lastChangeAt),
        counts: { current: done, behind: 0, unseen: 0, currentWithoutReport: 0, missing: 0 },
        failure: null,
      };
    }
    if (now() > deadline) return describeFailure(wait, isDone);
    await sleep(POLL_MS);
  }
}

async function describeFailure(wait: FleetViewWait, isDone: (row: DeviceRow) => boolean): Promise<FleetViewOutcome> {
  const rows = await wait.admin.listDevices();
  if (rows === undefined) return failed(wait, "the fleet view (GET /api/devices) could not be read; see HTTP errors");
  const byMac = new Map(rows.map((row) => [row.mac_address, row]));
  const counts = { current: 0, behind: 0, unseen: 0, currentWithoutReport: 0, missing: 0 };
  const examples: string[] = [];
  for (const mac of wait.macs) {
    const row = byMac.get(mac);
    if (row && isDone(row)) {
      counts.current++;
      continue;
    }
    if (!row) counts.missing++;
    else if (row.sync === "current") counts.currentWithoutReport++;
    else counts[row.sync]++;
    if (examples.length < EXAMPLES) examples.push(row ? describeRow(row) : `${mac}: not in the fleet view`);
  }
  const seconds = wait.timeoutMs / 1000;
  const failure =
    `the fleet view did not show every device current within ${seconds} s of the last change: ` +
    `${counts.current}/${wait.macs.length} current` +
    `, ${counts.behind} behind, ${counts.unseen} unseen` +
    (wait.reporting ? `, ${counts.currentWithoutReport} current by fetch with no report recorded` : "") +
    (counts.missing > 0 ? `, ${counts.missing} missing` : "") +
    ` (${examples.join("; ")})`;
  return { allCurrentAfterMs: null, counts, failure };
}

const describeRow = (row: DeviceRow) =>
  `${row.mac_address}: ${row.sync}, config ${row.config_etag}, fetched ${row.fetched_etag}, ` +
  `reported ${row.state ?? "nothing"}${row.applied_etag ? ` ${row.applied_etag}` : ""}`;

function failed(wait: FleetViewWait, failure: string): FleetViewOutcome {
  return {
    allCurrentAfterMs: null,
    counts: { current: 0, behind: 0, unseen: 0, currentWithoutReport: 0, missing: wait.macs.length },
    failure,
  };
}
