/**
 * The broker and server the run talks to: the ones named on the command line, or
 * private ones started here (a Mosquitto on free ports; the server on a temporary
 * DATA_DIR, publishing to that broker, with MQTT_DEVICE_TOPICS and MQTT_STATUS_TOPICS as
 * the devices expect).
 * Whatever is started is registered with the cleanup before anything else can fail.
 */
import { join } from "node:path";
import { DEV_KEY_FILE } from "../../src/runtimes/signing-key-file.js";
import { spawnServer } from "../../test/support/server.js";
import type { Cleanup } from "./cleanup.js";
import { FleetError, isFleetError } from "./errors.js";
import { startFleetBroker } from "./fleet-broker.js";
import type { FleetOptions } from "./options.js";

/** How long the private server gets to drain and exit on SIGTERM before it is killed. */
const STOP_GRACE_MS = 15_000;

export interface StartedResource {
  kind: "broker" | "server" | "shard";
  pid: number | undefined;
  /** The folder it was given (the server's DATA_DIR); removed at cleanup. */
  dir?: string;
}

export interface Infrastructure {
  brokerUrl: string;
  serverUrl: string;
  /** The server's PID when known (started here, or --server-pid). */
  serverPid: number | undefined;
  /** The signing key to use: --key, or the private server's development key. */
  keyPath: string;
  /** Broker log lines that say messages were dropped (private broker only). */
  brokerDrops(): string[] | undefined;
  /** The private server's warning and error log lines. */
  serverWarnings(): string[] | undefined;
}

export async function startInfrastructure(
  options: FleetOptions,
  cleanup: Cleanup,
  started: (resource: StartedResource) => void,
): Promise<Infrastructure> {
  let brokerUrl = options.broker;
  let brokerDrops: () => string[] | undefined = () => undefined;
  if (brokerUrl === undefined) {
    const broker = await startFleetBroker(options.devices).catch((error: unknown) => {
      if (isFleetError(error)) throw error;
      throw new FleetError("SETUP", `could not start a private Mosquitto: ${String(error)}`, { cause: error });
    });
    cleanup.add("stop the private broker", () => broker.cleanup());
    started({ kind: "broker", pid: broker.pid() });
    brokerUrl = broker.tcpUrl;
    brokerDrops = () =>
      broker
        .log()
        .split("\n")
        .filter((line) => /dropp/i.test(line));
  }

  if (options.server !== undefined) {
    return {
      brokerUrl,
      serverUrl: options.server,
      serverPid: options.serverPid,
      keyPath: options.key as string,
      brokerDrops,
      serverWarnings: () => undefined,
    };
  }

  const server = await spawnServer(
    {
      MQTT_URL: brokerUrl,
      MQTT_DEVICE_TOPICS: String(options.perDeviceTopics),
      // Devices that report over MQTT need the server to listen on iotsupport/status/+.
      MQTT_STATUS_TOPICS: String(options.report === "mqtt"),
      // Each device then reads (and reports) with its own token only.
      ...(options.deviceTokens ? { DEVICE_AUTH: "device" } : {}),
      // Not "warn": the start-up waits for the info line "listening". Requests are logged at debug only.
      LOG_LEVEL: "info",
    },
    undefined,
    options.serverCommand,
  ).catch((error: unknown) => {
    throw new FleetError("SETUP", `could not start a private server: ${String(error)}`, { cause: error });
  });
  cleanup.add("stop the private server", async () => {
    // SIGTERM first so it drains like in production; killed (and its DATA_DIR removed) either way.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([server.stop(), new Promise((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)))]);
    clearTimeout(timer);
    await server.cleanup();
  });
  started({ kind: "server", pid: server.child.pid, dir: server.dataDir });
  return {
    brokerUrl,
    serverUrl: server.url,
    serverPid: options.serverPid ?? server.child.pid,
    keyPath: options.key ?? join(server.dataDir, DEV_KEY_FILE),
    brokerDrops,
    serverWarnings: () =>
      server
        .lines()
        .filter((line) => line.level === "warn" || line.level === "error")
        // The development-key warning is expected for a private server: it is how the firmware gets signed.
        .filter((line) => !String(line.msg).includes("signing key"))
        .map((line) => `${line.level}: ${line.msg} ${JSON.stringify(omit(line, ["time", "level", "msg"]))}`),
  };
}

const omit = (value: Record<string, unknown>, keys: string[]) =>
  Object.fromEntries(Object.entries(value).filter(([key]) => !keys.includes(key)));
