/**
 * A group of simulated devices the driver plays the scenario against: in this process
 * (createLocalGroup) or in a shard, a child process of its own (shard.ts), which holds
 * one MQTT connection per device and so spends its own file descriptors. The driver sees
 * the same few calls either way; every value crossing them is plain data, timed with
 * clock.ts's epoch clock so that times from several processes compare.
 */
import { now } from "./clock.js";
import { createDevice, type Device, type DeviceRecord } from "./device.js";
import { createDeviceHttp } from "./device-http.js";
import type { ReportMode } from "./device-report.js";
import { createHttpErrors, type HttpErrorSummary } from "./http-errors.js";
import { forEachLimited } from "./limit.js";
import { macOf } from "./mac.js";
import { failsRollout } from "./rollout-plan.js";
import { isSettled, type Timed, type Upload } from "./settled.js";

/** A device that has not connected in this long is counted as failed; the run goes on without it. */
const CONNECT_DEADLINE_MS = 60_000;
/** Devices disconnected at once at the end; ending a client is cheap, but a thousand at once floods the broker. */
const CLOSE_CONCURRENCY = 200;

/** What a group needs to know to build its devices: plain data, so a shard can be sent it. */
export interface GroupSettings {
  /** The index of its first device in the fleet (its MAC is macOf(first)), and how many it has. */
  first: number;
  count: number;
  brokerUrl: string;
  serverUrl: string;
  mqttVersion: 4 | 5;
  perDeviceTopics: boolean;
  report: ReportMode;
  firmwareVersion: string;
  /** Each device's own token, in the group's order (DEVICE_AUTH=device); absent in open mode. */
  tokens?: string[];
  /** Devices of the fleet with an index below this report `failed` (device-report.ts). */
  failingDevices: number;
  /** --rollout: the marker in the rollout's patch, and the share of devices failing it (rollout-plan.ts). */
  rollout?: { marker: string; failShare: number };
  clientIdPrefix: string;
  connectConcurrency: number;
  /** This group's share of the fleet-wide bound on device HTTP requests. */
  fetchConcurrency: number;
}

export interface ConnectOutcome {
  perDeviceMs: number[];
  failures: string[];
}

export interface GroupResult {
  /** In the group's device order. */
  records: DeviceRecord[];
  errors: HttpErrorSummary;
  /** A shard's own event-loop delay; undefined in the driver's process (it measures its own). */
  eventLoopDelayMs?: { p99: number; max: number };
}

export interface DeviceGroup {
  readonly settings: GroupSettings;
  /** Connects and subscribes every device, connectConcurrency at a time. */
  connect(): Promise<ConnectOutcome>;
  /** What the driver did for these devices: one save each (in the group's order) and the upload. */
  planned(saves: Timed[], upload: Upload | undefined): Promise<void>;
  /** How many of its devices will do nothing more (converged, or something they needed failed). */
  settled(): Promise<number>;
  /** Disconnects every device and closes its HTTP pool; then hands back what they recorded. */
  finish(): Promise<GroupResult>;
  /** Stops everything at once (cleanup after a failure); safe to call after finish(). */
  close(): Promise<void>;
}

export function createLocalGroup(settings: GroupSettings): DeviceGroup {
  const errors = createHttpErrors();
  const http = createDeviceHttp(settings.serverUrl, settings.fetchConcurrency, errors, settings.rollout?.marker);
  const devices: Device[] = Array.from({ length: settings.count }, (_, i) => {
    const index = settings.first + i;
    return createDevice({
      mac: macOf(index),
      brokerUrl: settings.brokerUrl,
      mqttVersion: settings.mqttVersion,
      perDeviceTopics: settings.perDeviceTopics,
      http,
      report: settings.report,
      firmwareVersion: settings.firmwareVersion,
      failing: index < settings.failingDevices,
      failsRollout: settings.rollout !== undefined && failsRollout(macOf(index), settings.rollout.failShare),
      token: settings.tokens?.[i],
      clientIdPrefix: settings.clientIdPrefix,
    });
  });
  const connected = new Set<Device>();
  let saves: Timed[] | undefined;
  let upload: Upload | undefined;

  const closeAll = async () => {
    await forEachLimited(devices, CLOSE_CONCURRENCY, (device) => device.close());
    http.close();
  };

  return {
    settings,
    async connect() {
      const perDeviceMs: number[] = [];
      const failures: string[] = [];
      await forEachLimited(devices, settings.connectConcurrency, async (device) => {
        const began = now();
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
          perDeviceMs.push(now() - began);
          connected.add(device);
        } catch (error) {
          failures.push(`${device.record.mac}: ${error instanceof Error ? error.message : String(error)}`);
        } finally {
          clearTimeout(timer);
        }
      });
      return { perDeviceMs, failures };
    },
    async planned(groupSaves, groupUpload) {
      saves = groupSaves;
      upload = groupUpload;
    },
    async settled() {
      if (!saves) return 0;
      const known = saves;
      return devices.filter((device, i) =>
        isSettled(device.record, connected.has(device), known[i] as Timed, upload, settings.report !== "none"),
      ).length;
    },
    async finish() {
      await closeAll();
      return { records: devices.map((d) => d.record), errors: errors.summary() };
    },
    close: closeAll,
  };
}
