/**
 * The scenario the driver plays against a connected fleet: connect every device,
 * save every device's config once, upload one firmware, then wait (with a deadline)
 * until every device has fetched its new config and read the firmware header. It
 * only records times; what they mean is report.ts's job.
 */
import type { KeyObject } from "node:crypto";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Admin } from "./admin.js";
import type { Device, DeviceRecord } from "./device.js";
import { throwIfAborted } from "./errors.js";
import { forEachLimited } from "./limit.js";
import type { FleetOptions } from "./options.js";

/** A device that has not connected in this long is counted as failed; the run goes on without it. */
const CONNECT_DEADLINE_MS = 60_000;
const POLL_MS = 50;
const PROGRESS_EVERY_MS = 5000;

export interface Timed {
  sentAt: number;
  respondedAt: number;
  ok: boolean;
}

export interface Measurements {
  connect: { totalMs: number; perDeviceMs: number[]; failures: string[] };
  /** One per device, in the devices' order. */
  saves: Timed[];
  upload: (Timed & { filename: string }) | undefined;
  waitedMs: number;
  timedOut: boolean;
}

export interface ScenarioDeps {
  devices: Device[];
  admin: Admin;
  key: KeyObject;
  options: FleetOptions;
  runId: string;
  signal?: AbortSignal;
  log(line: string): void;
}

export async function runScenario(deps: ScenarioDeps): Promise<Measurements> {
  const { devices, admin, options, signal, log } = deps;
  const connected = new Set<Device>();
  const connect = await connectAll(deps, connected);
  log(
    `connected ${connected.size}/${devices.length} devices in ${connect.totalMs.toFixed(0)} ms` +
      (connect.failures.length > 0 ? ` (first failure: ${connect.failures[0]})` : ""),
  );

  throwIfAborted(signal);
  const saves: Timed[] = devices.map(() => ({ sentAt: Number.NaN, respondedAt: Number.NaN, ok: false }));
  log(`saving ${devices.length} configs, ${options.saveConcurrency} at a time`);
  await forEachLimited(
    devices,
    options.saveConcurrency,
    async (device, index) => {
      const sentAt = performance.now();
      const ok = await admin.saveConfig(device.record.mac, {
        deviceName: `fleet-${device.record.mac}`,
        run: deps.runId,
      });
      saves[index] = { sentAt, respondedAt: performance.now(), ok };
    },
    signal,
  );
  const firstSave = saves.reduce((first, save) => Math.min(first, save.sentAt), Number.POSITIVE_INFINITY);

  throwIfAborted(signal);
  const filename = `fleet-${deps.runId}.bin`;
  log(`uploading ${filename} (${options.firmwareBytes} bytes)`);
  const image = randomBytes(options.firmwareBytes);
  const uploadSentAt = performance.now();
  const uploaded = await admin.uploadFirmware(deps.key, filename, image);
  const upload = { filename, sentAt: uploadSentAt, respondedAt: performance.now(), ok: uploaded };

  const deadline = firstSave + options.timeoutSeconds * 1000;
  const waitStart = performance.now();
  let lastProgress = waitStart;
  for (;;) {
    throwIfAborted(signal);
    const settled = devices.filter((device, i) =>
      isSettled(device.record, connected.has(device), saves[i] as Timed, upload),
    ).length;
    if (settled === devices.length) break;
    const now = performance.now();
    if (now > deadline) {
      log(`deadline of ${options.timeoutSeconds} s reached with ${settled}/${devices.length} devices settled`);
      return { connect, saves, upload, waitedMs: now - waitStart, timedOut: true };
    }
    if (now - lastProgress > PROGRESS_EVERY_MS) {
      log(`waiting: ${settled}/${devices.length} devices settled`);
      lastProgress = now;
    }
    await sleep(POLL_MS);
  }
  return { connect, saves, upload, waitedMs: performance.now() - waitStart, timedOut: false };
}

async function connectAll(deps: ScenarioDeps, connected: Set<Device>): Promise<Measurements["connect"]> {
  const { devices, options, signal, log } = deps;
  const perDeviceMs: number[] = [];
  const failures: string[] = [];
  log(`connecting ${devices.length} devices, ${options.connectConcurrency} at a time`);
  const start = performance.now();
  await forEachLimited(
    devices,
    options.connectConcurrency,
    async (device) => {
      const began = performance.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          device.connect(),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`not connected within ${CONNECT_DEADLINE_MS} ms`)),
              CONNECT_DEADLINE_MS,
            );
          }),
        ]);
        perDeviceMs.push(performance.now() - began);
        connected.add(device);
      } catch (error) {
        failures.push(`${device.record.mac}: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        clearTimeout(timer);
      }
    },
    signal,
  );
  return { totalMs: performance.now() - start, perDeviceMs, failures };
}

/**
 * The fetch that answers this device's save: the first one started after it that did not
 * find the config absent (a check after a reconnect may run before the save has landed).
 */
export const configFetchFor = (record: DeviceRecord, save: Timed) =>
  save.ok ? record.fetches.find((f) => f.startedAt >= save.sentAt && f.outcome !== 404) : undefined;

/** The firmware header read that answers the upload's notification. */
export const headerReadFor = (record: DeviceRecord, upload: Measurements["upload"]) =>
  upload?.ok
    ? record.headerReads.find((r) => r.filename === upload.filename && r.startedAt >= upload.sentAt)
    : undefined;

/** Nothing more will happen for this device: it converged, or something it needed failed. */
function isSettled(record: DeviceRecord, connected: boolean, save: Timed, upload: Measurements["upload"]): boolean {
  if (!connected) return true;
  const configSettled = !save.ok || configFetchFor(record, save) !== undefined;
  const firmwareSettled = !upload?.ok || headerReadFor(record, upload) !== undefined;
  return configSettled && firmwareSettled;
}
