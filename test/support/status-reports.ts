/**
 * For the tests of status reports over MQTT (MQTT_STATUS_TOPICS): a real device client that
 * publishes to `iotsupport/status/<mac>` at QoS 1 and waits for the broker's PUBACK, and the
 * reports a server recorded, read back from its data directory's state records (the layout
 * the fleet records read: device-reports/<mac>.<ms>, `{"report", "at"}`).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";

export const STATUS_TOPIC = (mac: string) => `iotsupport/status/${mac}`;

export interface Device {
  client: MqttClient;
  /** Publishes at QoS 1; resolves on the broker's PUBACK. */
  report(topicMac: string, payload: string | Uint8Array, options?: { retain?: boolean }): Promise<void>;
  close(): Promise<void>;
}

export async function connectDevice(
  url: string,
  options: { protocolVersion?: 4 | 5; username?: string; password?: string } = {},
): Promise<Device> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: options.protocolVersion ?? 5,
    reconnectPeriod: 0,
    ...options,
  });
  return {
    client,
    async report(topicMac, payload, { retain = false } = {}) {
      await client.publishAsync(STATUS_TOPIC(topicMac), typeof payload === "string" ? payload : Buffer.from(payload), {
        qos: 1,
        retain,
      });
    },
    close: () => client.endAsync(true),
  };
}

export interface RecordedReport {
  mac: string;
  at: number;
  report: Record<string, unknown>;
}

/** The reports recorded under `stateDir` (DATA_DIR/state), oldest first. */
export async function recordedReports(stateDir: string): Promise<RecordedReport[]> {
  const dir = join(stateDir, "device-reports");
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const out: RecordedReport[] = [];
  for (const name of names) {
    const match = /^([0-9a-f-]{17})\.(\d{13})$/.exec(name);
    if (!match) continue;
    let text: string;
    try {
      text = await readFile(join(dir, name), "utf8");
    } catch (error) {
      // Deleted since the listing: the server removed an older report of the device after a newer one landed.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    const value = JSON.parse(text) as { report: Record<string, unknown>; at: number };
    out.push({ mac: match[1] as string, at: Number(match[2]), report: value.report });
  }
  return out.sort((a, b) => a.at - b.at);
}
