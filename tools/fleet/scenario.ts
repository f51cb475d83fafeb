/**
 * The scenario the driver plays against a connected fleet: connect every device,
 * save every device's config once, upload one firmware, then wait (with a deadline)
 * until every device has fetched its new config, reported it (unless --report none)
 * and read the firmware header. It only records times; what they mean is report.ts's job.
 */
import type { KeyObject } from "node:crypto";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Admin } from "./admin.js";
import { now } from "./clock.js";
import { throwIfAborted } from "./errors.js";
import type { DeviceGroup } from "./group.js";
import { forEachLimited } from "./limit.js";
import { macOf } from "./mac.js";
import type { FleetOptions } from "./options.js";
import type { Timed, Upload } from "./settled.js";

export { configFetchFor, headerReadFor, reportFor, type Timed } from "./settled.js";

const POLL_MS = 50;
const PROGRESS_EVERY_MS = 5000;

export interface Measurements {
  connect: { totalMs: number; perDeviceMs: number[]; failures: string[] };
  /** One per device, in the fleet's order. */
  saves: Timed[];
  upload: Upload | undefined;
  waitedMs: number;
  timedOut: boolean;
}

export interface ScenarioDeps {
  groups: DeviceGroup[];
  admin: Admin;
  key: KeyObject;
  options: FleetOptions;
  runId: string;
  signal?: AbortSignal;
  log(line: string): void;
  /** Told once every save has been answered (before the upload), so the fleet view can be watched meanwhile. */
  afterSaves?(saves: Timed[]): void;
}

export async function runScenario(deps: ScenarioDeps): Promise<Measurements> {
  const { groups, admin, options, signal, log } = deps;
  const devices = options.devices;
  log(
    `connecting ${devices} devices` +
      (groups.length > 1 ? ` in ${groups.length} shards` : "") +
      `, ${groups[0]?.settings.connectConcurrency} at a time${groups.length > 1 ? " in each" : ""}`,
  );
  const connectStart = now();
  const outcomes = await Promise.all(groups.map((group) => group.connect()));
  const connect = {
    totalMs: now() - connectStart,
    perDeviceMs: outcomes.flatMap((o) => o.perDeviceMs),
    failures: outcomes.flatMap((o) => o.failures),
  };
  log(
    `connected ${devices - connect.failures.length}/${devices} devices in ${connect.totalMs.toFixed(0)} ms` +
      (connect.failures.length > 0 ? ` (first failure: ${connect.failures[0]})` : ""),
  );

  throwIfAborted(signal);
  const saves: Timed[] = Array.from({ length: devices }, () => ({
    sentAt: Number.NaN,
    respondedAt: Number.NaN,
    ok: false,
  }));
  log(`saving ${devices} configs, ${options.saveConcurrency} at a time`);
  await forEachLimited(
    saves,
    options.saveConcurrency,
    async (_, index) => {
      const mac = macOf(index);
      const sentAt = now();
      const ok = await admin.saveConfig(mac, { deviceName: `fleet-${mac}`, run: deps.runId });
      saves[index] = { sentAt, respondedAt: now(), ok };
    },
    signal,
  );
  const firstSave = saves.reduce((first, save) => Math.min(first, save.sentAt), Number.POSITIVE_INFINITY);
  deps.afterSaves?.(saves);

  throwIfAborted(signal);
  const filename = `fleet-${deps.runId}.bin`;
  log(`uploading ${filename} (${options.firmwareBytes} bytes)`);
  const image = randomBytes(options.firmwareBytes);
  const uploadSentAt = now();
  const uploaded = await admin.uploadFirmware(deps.key, filename, image);
  const upload = { filename, sentAt: uploadSentAt, respondedAt: now(), ok: uploaded };
  await Promise.all(
    groups.map((group) =>
      group.planned(saves.slice(group.settings.first, group.settings.first + group.settings.count), upload),
    ),
  );

  const deadline = firstSave + options.timeoutSeconds * 1000;
  const waitStart = now();
  let lastProgress = waitStart;
  for (;;) {
    throwIfAborted(signal);
    const settled = (await Promise.all(groups.map((group) => group.settled()))).reduce((a, b) => a + b, 0);
    if (settled === devices) break;
    const at = now();
    if (at > deadline) {
      log(`deadline of ${options.timeoutSeconds} s reached with ${settled}/${devices} devices settled`);
      return { connect, saves, upload, waitedMs: at - waitStart, timedOut: true };
    }
    if (at - lastProgress > PROGRESS_EVERY_MS) {
      log(`waiting: ${settled}/${devices} devices settled`);
      lastProgress = at;
    }
    await sleep(POLL_MS);
  }
  return { connect, saves, upload, waitedMs: now() - waitStart, timedOut: false };
}
