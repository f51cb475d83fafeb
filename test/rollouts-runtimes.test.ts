/**
 * The rollout contract over HTTP against each runtime: a real server process on Node, Deno
 * and Bun (a real broker as its sink), and the Worker under wrangler dev (local R2): a wave
 * advances within 2 s of the report that tips it (the processes' timer; on the Worker, the
 * requests themselves), failed reports halt it, a rollback restores every device, and the API
 * answers as SPEC says. The processes also stop cleanly (SIGTERM, exit 0) with every save
 * notified once per wave and once per rollback.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RolloutView } from "../src/features/rollouts/contract.js";
import { FLEET_ENV } from "./support/fleet-contract.js";
import { testKeys } from "./support/keys.js";
import { type Broker, mosquittoAvailable, startBroker, subscribe } from "./support/mosquitto.js";
import { fleetMacs, rolloutClient, savesPerFile, startRolloutServer, within } from "./support/rollout-servers.js";
import { serverRuntimes } from "./support/server.js";
import { startWorkerDev } from "./support/worker-dev.js";

const haveBroker = mosquittoAvailable();
let broker: Broker;
beforeAll(async () => {
  if (haveBroker) broker = await startBroker();
});
afterAll(async () => {
  await broker?.cleanup();
});

type Client = ReturnType<typeof rolloutClient>;
const original = (mac: string) => ({ deviceName: mac, firmware: { version: "1.0" } });

/** The contract, over HTTP only; `name` labels the figures printed. */
async function rolloutContract(name: string, s: Client, prefix: string) {
  const macs = fleetMacs(6, prefix);
  for (const mac of macs) await s.c.saveConfig(mac, original(mac));
  const version = async (mac: string) => {
    const res = await s.c.admin(`/api/configs/${mac}`);
    return ((await res.json()) as { content: { firmware: { version: string } } }).content.firmware.version;
  };
  const allAt = (list: string[], v: string) => async () => (await Promise.all(list.map(version))).every((x) => x === v);
  const created = await s.create({
    name: `on ${name}`,
    patch: { firmware: { version: "2.0" } },
    targets: macs,
    waves: [50, 100],
    advance_when: { applied_percent: 100, within_s: 600 },
    halt_when: { failed_percent: 30 },
  });
  expect(created).toMatchObject({ state: "running", counts: { targets: 6, released: 3, pending: 3 } });
  const id = created.id;
  expect(await within(10_000, allAt(macs.slice(0, 3), "2.0"))).toBeDefined();
  await s.reportAll(macs.slice(0, 3), "ok");
  const tipped = await within(10_000, async () => (await s.get(id)).waves[1]?.released_at !== null);
  console.log(`${name}: wave 2 released ${tipped} ms after the tipping report`);
  expect(tipped).toBeLessThanOrEqual(2500);
  expect(await within(10_000, allAt(macs.slice(3), "2.0"))).toBeDefined();
  await s.reportAll(macs.slice(3, 5), "failed");
  const halted = await within(10_000, async () => (await s.get(id)).state === "halted");
  console.log(`${name}: halted ${halted} ms after the failed reports`);
  expect(halted).toBeLessThanOrEqual(2500);
  expect((await s.get(id)).counts).toEqual({ targets: 6, released: 6, applied: 3, failed: 2, pending: 1 });
  await s.act(id, "resume", 409);
  const rolledBack: RolloutView = await s.act(id, "rollback");
  expect(rolledBack).toMatchObject({ state: "rolled_back", details: { skipped: [] } });
  expect(await allAt(macs, "1.0")()).toBe(true);
  const list = (await (await s.c.admin("/api/rollouts")).json()) as { rollouts: RolloutView[]; count: number };
  expect(list.rollouts.map((r) => r.id)).toContain(id);
  return macs;
}

describe.skipIf(!haveBroker).each(serverRuntimes())("rollouts on $name", ({ name, command }) => {
  it("advances on reports by its timer, halts on failures, rolls back, and stops cleanly", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), `iot-rollout-${name}-`));
    const sub = await subscribe(broker.tcpUrl, ["iotsupport/updates/configs"]);
    const s = await startRolloutServer(dataDir, broker.tcpUrl, command);
    try {
      const macs = await rolloutContract(name, s, "c0-00-00-00");
      expect(await s.server.stop("SIGTERM")).toBe(0);
      // Each device: its first save, its wave, the rollback.
      await sub.waitFor(18);
      const saves = savesPerFile(sub.messages);
      for (const mac of macs) expect(saves.get(`${mac}.json`), mac).toBe(3);
    } finally {
      await sub.close();
      await s.server.cleanup();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("rollouts on the Worker (wrangler dev, local R2)", () => {
  it("advances by the Durable Object alarm, halts on failures, rolls back", async () => {
    const worker = await startWorkerDev({ ...FLEET_ENV(), SIGNING_KEY: testKeys().pkcs1 });
    try {
      const fake = { url: worker.url } as Parameters<typeof rolloutClient>[0];
      await rolloutContract("worker", rolloutClient(fake), "d0-00-00-00");
    } catch (e) {
      console.log(
        worker
          .lines()
          .filter((l) => l.level !== "debug")
          .map((l) => JSON.stringify(l))
          .join("\n")
          .slice(-6000),
      );
      throw e;
    } finally {
      await worker.cleanup();
    }
  }, 120_000);
});
