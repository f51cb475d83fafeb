/**
 * One simulated ESP32: its own MQTT connection and MAC, reacting to notifications
 * as the firmware does. A config notification for its own MAC makes it fetch its
 * config with If-None-Match (or skip the fetch when the message's `etag` property is
 * the ETag it holds); one for another MAC is only counted; an asset notification
 * makes it read the image header. After a lost connection it subscribes again and then
 * checks its config once (If-None-Match), as firmware must: a broker keeps nothing for
 * a clean session, so a notification published while it was away is never heard.
 * Once it holds a config it has not yet reported, it reports it (device-report.ts), in
 * the same one-at-a-time chain as its fetches: fetch, apply, report, as firmware does.
 * It records what it did and when, nothing more:
 * a thousand of these share one process, so each keeps a few numbers, not buffers.
 */
import mqtt, { type IPublishPacket, type MqttClient } from "mqtt";
import { TOPICS } from "../../src/core/sinks/contract.js";
import { now } from "./clock.js";
import type { DeviceHttp } from "./device-http.js";
import { type ReportEvent, type ReportMode, reportBody, STATUS_TOPIC } from "./device-report.js";

/** 404: a check (after a reconnect) found no config saved for this device yet. */
export type FetchOutcome = 200 | 304 | 404 | "skipped" | "error";

export interface FetchEvent {
  /** clock.ts's now() when the notification that caused it was handled. */
  startedAt: number;
  doneAt: number;
  outcome: FetchOutcome;
}

export interface HeaderRead {
  filename: string;
  startedAt: number;
  doneAt: number;
  ok: boolean;
}

export interface DeviceRecord {
  mac: string;
  /** Config notifications received, its own and other devices'. */
  configMessages: number;
  assetMessages: number;
  /** Payloads that were not `{"filename": "..."}` (config messages not naming this MAC are not parsed). */
  malformedMessages: number;
  fetches: FetchEvent[];
  headerReads: HeaderRead[];
  /** Status reports sent, one per config applied (none with --report none). */
  reports: ReportEvent[];
  /** The ETag of the config it holds (from its last 200). */
  etag: string | undefined;
  reconnects: number;
  /** MQTT client errors (connection refused, protocol errors), counted, first one kept. */
  mqttErrors: number;
  firstMqttError?: string;
}

export interface DeviceSettings {
  mac: string;
  brokerUrl: string;
  mqttVersion: 4 | 5;
  perDeviceTopics: boolean;
  http: DeviceHttp;
  /** How it reports the config it applied: HTTP, MQTT (its own connection), or not at all (the default). */
  report?: ReportMode;
  /** What it says it runs: `firmware_version` in its reports (default "sim"). */
  firmwareVersion?: string;
  /** Its own token (DEVICE_AUTH=device), sent with every HTTP request; none in open mode. */
  token?: string;
  /** Reports `failed` with an ETag it never held (device-report.ts), so the fleet view sees it behind. */
  failing?: boolean;
  /** Reports `failed` for a config carrying the rollout's marker (fetched with it, device-http.ts). */
  failsRollout?: boolean;
  /** Prefix of the MQTT client id: unique per run, so two runs on one broker never take over each other's sessions. */
  clientIdPrefix: string;
}

export interface Device {
  readonly record: DeviceRecord;
  /** Connects and subscribes; resolves once the SUBACK grants QoS 1 on every topic. */
  connect(): Promise<void>;
  close(): Promise<void>;
}

export const topicsFor = (mac: string, perDeviceTopics: boolean): string[] =>
  perDeviceTopics ? [`${TOPICS.configs}/${mac}`, TOPICS.assets] : [TOPICS.configs, TOPICS.assets];

export function createDevice(settings: DeviceSettings): Device {
  const { mac, http } = settings;
  const ownFile = `${mac}.json`;
  const macBytes = Buffer.from(mac);
  const record: DeviceRecord = {
    mac,
    configMessages: 0,
    assetMessages: 0,
    malformedMessages: 0,
    fetches: [],
    headerReads: [],
    reports: [],
    etag: undefined,
    reconnects: 0,
    mqttErrors: 0,
  };
  let client: MqttClient | undefined;
  // One config fetch at a time, like the firmware's single HTTP client; a notification
  // arriving meanwhile is remembered and fetched after, so the newest save is never missed.
  // `announced`: a notification said the config exists (a check after a reconnect may find none).
  let fetching = false;
  let fetchAgain: { startedAt: number; announced: boolean } | undefined;
  // The ETag of the last report the server acknowledged: a failed report is sent again after the next fetch.
  let reported: string | undefined;
  // Whether the config it holds is the rollout's (its body carried the marker).
  let holdsRollout = false;
  const statusTopic = `${STATUS_TOPIC}/${mac}`;

  const publishReport = async (body: Buffer): Promise<boolean> => {
    if (!client) return false;
    try {
      await client.publishAsync(statusTopic, body, { qos: 1 });
      return true;
    } catch (error) {
      record.mqttErrors++;
      record.firstMqttError ??= `publishing a status report: ${String(error)}`;
      return false;
    }
  };

  const reportApplied = async (etag: string) => {
    const startedAt = now();
    const failure = settings.failing ? "never-applied" : holdsRollout && settings.failsRollout ? "rollout" : undefined;
    const body = reportBody(etag, settings.firmwareVersion ?? "sim", failure);
    const ok = await (settings.report === "http" ? http.reportStatus(mac, body, settings.token) : publishReport(body));
    record.reports.push({ etag, startedAt, doneAt: now(), ok });
    if (ok) reported = etag;
  };

  const fetchConfig = async (startedAt: number, announced: boolean) => {
    fetching = true;
    try {
      const answer = await http.fetchConfig(mac, record.etag, announced, settings.token);
      if (answer.status === 200) {
        record.etag = answer.etag;
        holdsRollout = answer.marked;
      }
      record.fetches.push({ startedAt, doneAt: now(), outcome: answer.status });
      const applied = answer.status === 200 || answer.status === 304;
      if (applied && (settings.report ?? "none") !== "none" && record.etag !== undefined && record.etag !== reported) {
        await reportApplied(record.etag);
      }
    } finally {
      fetching = false;
    }
    if (fetchAgain !== undefined) {
      const next = fetchAgain;
      fetchAgain = undefined;
      await fetchConfig(next.startedAt, next.announced);
    }
  };

  /** Fetches now, or after the running fetch; a waiting check becomes announced if a notification joins it. */
  const requestFetch = (announced: boolean) => {
    const at = now();
    if (!fetching) void fetchConfig(at, announced);
    else if (fetchAgain === undefined) fetchAgain = { startedAt: at, announced };
    else fetchAgain.announced ||= announced;
  };

  const onConfig = (filename: string, packet: IPublishPacket) => {
    if (filename !== ownFile) return;
    const at = now();
    const announced = packet.properties?.userProperties?.etag;
    if (record.etag !== undefined && announced === record.etag) {
      record.fetches.push({ startedAt: at, doneAt: at, outcome: "skipped" });
      return;
    }
    requestFetch(true);
  };

  /** A config check not caused by a message (after a reconnect): fetched, or queued behind the running fetch. */
  const checkConfig = () => requestFetch(false);

  const onAsset = async (filename: string) => {
    const startedAt = now();
    const ok = await http.readFirmwareHeader(filename, settings.token);
    record.headerReads.push({ filename, startedAt, doneAt: now(), ok });
  };

  const onMessage = (topic: string, payload: Buffer, packet: IPublishPacket) => {
    const asset = topic === TOPICS.assets;
    if (asset) record.assetMessages++;
    else record.configMessages++;
    // On the shared topic nearly every message names another device: a byte search rules those
    // out without parsing (as firmware would with strstr), which matters at a million messages.
    if (!asset && payload.indexOf(macBytes) === -1) return;
    const filename = filenameOf(payload);
    if (filename === undefined) {
      record.malformedMessages++;
      return;
    }
    if (asset) void onAsset(filename);
    else onConfig(filename, packet);
  };

  return {
    record,
    async connect() {
      const connection = mqtt.connect(settings.brokerUrl, {
        clientId: `${settings.clientIdPrefix}-${mac}`,
        protocolVersion: settings.mqttVersion,
        clean: true,
        keepalive: 60,
        // Devices come back after a broker restart. They subscribe again themselves (below), so
        // that the config check comes after the broker has granted the subscription: a save
        // is then either before the check (fetched) or announced after it (heard).
        reconnectPeriod: 2000,
        resubscribe: false,
        connectTimeout: 30_000,
        // mqtt.js's `debug` logger costs a few per cent at a million messages, even when disabled.
        log: () => {},
      });
      client = connection;
      connection.on("message", onMessage);
      connection.on("reconnect", () => {
        record.reconnects++;
      });
      const topics = topicsFor(mac, settings.perDeviceTopics);
      let connectedBefore = false;
      connection.on("connect", () => {
        if (!connectedBefore) {
          connectedBefore = true;
          return;
        }
        connection.subscribeAsync(topics, { qos: 1 }).then(checkConfig, (error: unknown) => {
          record.mqttErrors++;
          record.firstMqttError ??= `subscribing again: ${String(error)}`;
        });
      });
      connection.on("error", (error) => {
        record.mqttErrors++;
        record.firstMqttError ??= error.message;
      });
      await new Promise<void>((resolve, reject) => {
        connection.once("connect", () => resolve());
        connection.once("error", reject);
      });
      const granted = await connection.subscribeAsync(topics, { qos: 1 });
      const refused = granted.filter((g) => g.qos !== 1);
      if (refused.length > 0) {
        throw new Error(`broker granted ${refused.map((g) => `${g.topic} qos ${g.qos}`).join(", ")} instead of QoS 1`);
      }
    },
    async close() {
      // Forgotten first, so a second close (the cleanup after the scenario's own) does nothing.
      const closing = client;
      client = undefined;
      await closing?.endAsync(true);
    },
  };
}

function filenameOf(payload: Buffer): string | undefined {
  try {
    const value = JSON.parse(payload.toString("utf8")) as { filename?: unknown };
    return typeof value?.filename === "string" ? value.filename : undefined;
  } catch {
    // Counted by the caller as a malformed message.
    return undefined;
  }
}
