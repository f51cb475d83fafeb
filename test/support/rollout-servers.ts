/**
 * Rollouts against real server processes: servers on a shared DATA_DIR with an admin token
 * and a real Mosquitto broker as their sink, so every config save any process makes is one
 * notification a subscriber counts; configs written straight into the data directory (a
 * fleet of thousands in well under a second); the rollout API and device reports over HTTP;
 * the rollout's records read from STATE_DIR.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import type { RolloutSpec, RolloutView } from "../../src/features/rollouts/contract.js";
import { FLEET_ENV, fleetClient } from "./fleet-contract.js";
import { testKeys } from "./keys.js";
import type { Received } from "./mosquitto.js";
import { type Command, type SpawnedServer, spawnServer } from "./server.js";

const keys = testKeys();

export async function startRolloutServer(dataDir: string, brokerUrl: string, command?: Command) {
  const server = await spawnServer(
    { ...FLEET_ENV(), SIGNING_KEY: keys.pkcs1, DATA_DIR: dataDir, NOTIFY_URL: brokerUrl },
    undefined,
    command,
  );
  return { server, ...rolloutClient(server) };
}

export function rolloutClient(server: SpawnedServer) {
  const c = fleetClient(() => (path, init) => fetch(`${server.url}${path}`, init));
  const post = (path: string, body?: unknown) =>
    c.admin(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    c,
    post,
    async create(spec: Omit<RolloutSpec, "evidence"> & { evidence?: string }): Promise<RolloutView> {
      const res = await post("/api/rollouts", spec);
      expect(res.status, await res.clone().text()).toBe(201);
      return (await res.json()) as RolloutView;
    },
    async get(id: string): Promise<RolloutView> {
      const res = await c.admin(`/api/rollouts/${id}`);
      expect(res.status).toBe(200);
      return (await res.json()) as RolloutView;
    },
    async act(id: string, action: string, status = 200): Promise<RolloutView> {
      const res = await post(`/api/rollouts/${id}/${action}`);
      expect(res.status, await res.clone().text()).toBe(status);
      return (await res.json()) as RolloutView;
    },
    /** Each device reports `state` with the ETag its config has now (what a device that applied it sends). */
    async reportAll(macs: string[], state: "ok" | "failed") {
      for (const mac of macs) {
        const { etag } = await c.read(mac);
        expect((await c.report(mac, { state, config_etag: etag })).status).toBe(204);
      }
    },
  };
}

export const fleetMacs = (n: number, prefix: string) =>
  Array.from(
    { length: n },
    (_, i) => `${prefix}-${(i >> 8).toString(16).padStart(2, "0")}-${(i & 255).toString(16).padStart(2, "0")}`,
  );

/** Writes each config file as the server would (two-space JSON), before any server starts. */
export async function writeConfigs(dataDir: string, macs: string[], content: (mac: string) => Record<string, unknown>) {
  const dir = join(dataDir, "configs");
  await mkdir(dir, { recursive: true });
  await Promise.all(macs.map((mac) => writeFile(join(dir, `${mac}.json`), JSON.stringify(content(mac), null, 2))));
}

export const readConfig = async (dataDir: string, mac: string) =>
  JSON.parse(await readFile(join(dataDir, "configs", `${mac}.json`), "utf8")) as Record<string, unknown>;

/** The events of rollout `id` in STATE_DIR, in key order. */
export async function storedEvents(dataDir: string, id: string): Promise<Array<Record<string, unknown>>> {
  const dir = join(dataDir, "state", `rollout-${id}`);
  const keys = (await readdir(dir).catch(() => [] as string[])).filter((k) => /^e\d{6}$/.test(k)).sort();
  return Promise.all(
    keys.map(async (k) => JSON.parse(await readFile(join(dir, k), "utf8")) as Record<string, unknown>),
  );
}

/** How many config-save notifications each config file had, from a subscriber's messages. */
export function savesPerFile(messages: Received[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of messages) {
    if (m.topic !== "iotsupport/updates/configs") continue;
    const { filename } = JSON.parse(m.payload) as { filename: string };
    out.set(filename, (out.get(filename) ?? 0) + 1);
  }
  return out;
}

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Polls `probe` every 100 ms until it is true; the ms it took, or undefined after `timeoutMs`. */
export async function within(timeoutMs: number, probe: () => Promise<boolean>): Promise<number | undefined> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await probe()) return Date.now() - start;
    await sleep(100);
  }
  return undefined;
}
