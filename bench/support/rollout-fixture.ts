/**
 * What the rollout benches share: a fleet of configs laid out on disk before the server
 * starts (as an upgraded server would find them), a private Mosquitto the server
 * publishes to, one MQTT 5 subscriber that hears every config notification (the moment a
 * config is durably saved, with its ETag as a user property), and the rollout API.
 */
import { rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { TOPICS } from "../../src/core/sinks/contract.js";
import type { RolloutAction, RolloutView } from "../../src/features/rollouts/contract.js";
import { DEVICE_CONCURRENCY } from "../../src/features/rollouts/device-writes.js";
import { type Broker, startBroker } from "../../test/support/mosquitto.js";
import { inParallel, macOf } from "./fleet-fixture.js";
import { type BenchServer, startServer } from "./server.js";

/** Requests in flight at once, for the client's PUTs and the bench's reports alike: as many as a release saves at once. */
export const IN_FLIGHT = DEVICE_CONCURRENCY;

/** A config as devices hold them before any rollout; the patch adds a `bench` object. */
export const baseContent = (i: number) => ({
  deviceName: `device-${i}`,
  deviceEntityId: `sensor.device_${i}`,
  settings: { interval: 60, enableOTA: i % 2 === 0 },
});

export interface ConfigNotice {
  mac: string;
  etag: string | undefined;
  at: number;
}

export interface RolloutFleet {
  server: BenchServer;
  macs: string[];
  dataDir: string;
  /** Config notifications heard so far (every one, in arrival order). */
  heard(): number;
  /** Resolves at the moment the `n`-th notification (counted from the start) arrives; rejects after timeoutMs. */
  untilHeard(n: number, timeoutMs: number): Promise<number>;
  /** Told of every config notification from now on (one listener at a time). */
  onNotice(listener: ((notice: ConfigNotice) => void) | undefined): void;
  /** The stored config of a device, parsed, as the server wrote it. */
  stored(mac: string): Promise<Record<string, unknown>>;
  api: RolloutApi;
  stop(): Promise<void>;
}

export interface RolloutApi {
  create(body: Record<string, unknown>): Promise<RolloutView>;
  get(id: string): Promise<RolloutView>;
  act(id: string, action: RolloutAction): Promise<RolloutView>;
}

export async function startRolloutFleet(devices: number): Promise<RolloutFleet> {
  const dataDir = await mkdtemp(join(tmpdir(), "iot-bench-rollout-"));
  const removeOnExit = () => rmSync(dataDir, { recursive: true, force: true });
  process.once("exit", removeOnExit);
  const macs = Array.from({ length: devices }, (_, i) => macOf(i));
  const configs = join(dataDir, "configs");
  await mkdir(configs, { recursive: true });
  await inParallel(
    macs.map((mac, i) => [mac, i] as const),
    ([mac, i]) => writeFile(join(configs, `${mac}.json`), JSON.stringify(baseContent(i), null, 2)),
  );
  let broker: Broker | undefined;
  let client: MqttClient | undefined;
  let server: BenchServer | undefined;
  const stop = async () => {
    await client?.endAsync(true);
    await server?.stop();
    await broker?.cleanup();
    await rm(dataDir, { recursive: true, force: true });
    process.off("exit", removeOnExit);
  };
  try {
    broker = await startBroker();
    const subscriber = mqtt.connect(broker.tcpUrl, { protocolVersion: 5, reconnectPeriod: 200 });
    client = subscriber;
    await new Promise<void>((resolve, reject) => {
      subscriber.once("connect", () => resolve());
      subscriber.once("error", reject);
    });
    await subscriber.subscribeAsync(TOPICS.configs, { qos: 1 });
    let heard = 0;
    let listener: ((notice: ConfigNotice) => void) | undefined;
    const waiters: Array<{ n: number; resolve(at: number): void }> = [];
    subscriber.on("message", (_topic, payload, packet) => {
      const at = performance.now();
      heard++;
      for (const waiter of waiters.filter((w) => w.n <= heard)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(at);
      }
      if (!listener) return;
      const filename = (JSON.parse(payload.toString("utf8")) as { filename: string }).filename;
      const etag = packet.properties?.userProperties?.etag;
      listener({ mac: filename.replace(/\.json$/, ""), etag: typeof etag === "string" ? etag : undefined, at });
    });
    server = await startServer({ DATA_DIR: dataDir, MQTT_URL: broker.tcpUrl, MQTT_QUEUE_LIMIT: "100000" }, [
      process.execPath,
      "dist/node.mjs",
    ]);
    const url = server.url;
    return {
      server,
      macs,
      dataDir,
      heard: () => heard,
      untilHeard(n, timeoutMs) {
        if (heard >= n) return Promise.resolve(performance.now());
        return new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`heard ${heard} of ${n} config notifications within ${timeoutMs} ms`)),
            timeoutMs,
          );
          waiters.push({
            n,
            resolve: (at) => {
              clearTimeout(timer);
              resolve(at);
            },
          });
        });
      },
      onNotice(next) {
        listener = next;
      },
      stored: async (mac) => JSON.parse(await readFile(join(configs, `${mac}.json`), "utf8")),
      api: rolloutApi(url),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function rolloutApi(url: string): RolloutApi {
  const call = async (method: string, path: string, expected: number, body?: unknown): Promise<RolloutView> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== expected) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as RolloutView;
  };
  return {
    create: (body) => call("POST", "/api/rollouts", 201, body),
    get: (id) => call("GET", `/api/rollouts/${id}`, 200),
    act: (id, action) => call("POST", `/api/rollouts/${id}/${action}`, 200),
  };
}

/** Runs `work` over `items`, `max` at a time (the client side of a release's concurrency). */
export async function inFlight<T>(items: readonly T[], max: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(max, items.length) }, worker));
}
