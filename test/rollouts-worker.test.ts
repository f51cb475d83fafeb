/**
 * Rollouts on the Worker under `wrangler dev` (workerd, local R2 and Durable Objects), driven
 * by the rollout driver's alarm (runtimes/worker-rollouts.ts), with a real broker behind the
 * notification hub: a wave is released with no request reaching the Worker after the report
 * that tips it; a restart of wrangler dev on the same persisted state continues the rollout;
 * failures halt it; a rollback restores every device the rollout wrote, skips one changed
 * since, and every release and restore is notified like a PUT. Without the ROLLOUTS binding,
 * the rollouts routes answer 503 SERVER_MISCONFIGURED naming it, and the rest of the API works.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RolloutView } from "../src/features/rollouts/contract.js";
import { FLEET_ENV } from "./support/fleet-contract.js";
import { expectError } from "./support/http.js";
import { testKeys } from "./support/keys.js";
import { type Broker, mosquittoAvailable, startBroker, subscribe } from "./support/mosquitto.js";
import { fleetMacs, rolloutClient, savesPerFile, sleep, within } from "./support/rollout-servers.js";
import type { SpawnedServer } from "./support/server.js";
import { startWorkerDev, type WorkerDev } from "./support/worker-dev.js";

const keys = testKeys();
const haveBroker = mosquittoAvailable();
let broker: Broker | undefined;
beforeAll(async () => {
  if (haveBroker) broker = await startBroker();
});
afterAll(async () => {
  await broker?.cleanup();
});

const clientOf = (worker: WorkerDev) => rolloutClient({ url: worker.url } as SpawnedServer);
const original = (mac: string) => ({ deviceName: mac, firmware: { version: "1.0" } });

async function versionOf(s: ReturnType<typeof clientOf>, mac: string): Promise<string> {
  const res = await s.c.admin(`/api/configs/${mac}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { content: { firmware: { version: string } } }).content.firmware.version;
}

const allAt = (s: ReturnType<typeof clientOf>, macs: string[], version: string) => async () =>
  (await Promise.all(macs.map((mac) => versionOf(s, mac)))).every((v) => v === version);

/** Reports ok for each device with the ETag of its config now; the time of the last report. */
async function reportApplied(s: ReturnType<typeof clientOf>, macs: string[]): Promise<number> {
  await s.reportAll(macs, "ok");
  return Date.now();
}

describe.skipIf(!haveBroker)("rollouts on the Worker, driven by the rollout driver's alarm", () => {
  it("releases waves with no request, continues after a restart, halts, and rolls back, notified", async () => {
    const persistTo = await mkdtemp(join(tmpdir(), "iot-rollout-worker-"));
    const vars = { ...FLEET_ENV(), SIGNING_KEY: keys.pkcs1, MQTT_URL: (broker as Broker).wsUrl };
    const sub = await subscribe((broker as Broker).tcpUrl, ["iotsupport/updates/configs"]);
    const macs = fleetMacs(6, "e0-00-00-00");
    let worker = await startWorkerDev(vars, { persistTo });
    try {
      let s = clientOf(worker);
      for (const mac of macs) await s.c.saveConfig(mac, original(mac));
      const created: RolloutView = await s.create({
        name: "on the Worker",
        patch: { firmware: { version: "2.0" } },
        targets: macs,
        waves: [33, 66, 100],
        advance_when: { applied_percent: 100, within_s: 600 },
        halt_when: { failed_percent: 30 },
      });
      // The driver claimed wave 1 before the create answered.
      expect(created).toMatchObject({ state: "running", counts: { targets: 6, released: 2, pending: 2 } });
      expect(created.waves.map((w) => w.devices)).toEqual([2, 2, 2]);
      expect(created.waves[0]?.released_at).not.toBeNull();
      const { id } = created;
      expect(await within(10_000, allAt(s, macs.slice(0, 2), "2.0"))).toBeDefined();
      expect(await versionOf(s, macs[2] as string)).toBe("1.0");

      // No request reaches the Worker after the tipping report: only the driver's alarm can release wave 2.
      const tippedAt = await reportApplied(s, macs.slice(0, 2));
      await sleep(3000);
      const afterSilence = await s.get(id);
      const releasedAt = afterSilence.waves[1]?.released_at;
      expect(releasedAt, JSON.stringify(afterSilence)).not.toBeNull();
      console.log(`worker: wave 2 released ${Date.parse(releasedAt as string) - tippedAt} ms after the tipping report`);
      expect(Date.parse(releasedAt as string) - tippedAt).toBeLessThanOrEqual(2500);
      expect(await within(10_000, allAt(s, macs.slice(2, 4), "2.0"))).toBeDefined();
      expect(await versionOf(s, macs[4] as string)).toBe("1.0");

      // A restart on the same persisted state (R2, the driver's storage) continues the rollout.
      await worker.cleanup();
      worker = await startWorkerDev(vars, { persistTo });
      s = clientOf(worker);
      expect((await s.get(id)).state).toBe("running");
      await reportApplied(s, macs.slice(2, 4));
      expect(await within(10_000, async () => (await s.get(id)).waves[2]?.released_at !== null)).toBeDefined();
      expect(await within(10_000, allAt(s, macs.slice(4), "2.0"))).toBeDefined();

      // Two of six released devices failed (≥ 30 %): halted.
      await s.reportAll(macs.slice(4), "failed");
      expect(await within(10_000, async () => (await s.get(id)).state === "halted")).toBeDefined();
      expect((await s.get(id)).counts).toEqual({ targets: 6, released: 6, applied: 4, failed: 2, pending: 0 });
      await s.act(id, "resume", 409);

      // A device changed since the rollout wrote it is left alone; every other one is restored.
      const changed = macs[0] as string;
      await s.c.saveConfig(changed, { deviceName: changed, firmware: { version: "2.1" } });
      const rolledBack = await s.act(id, "rollback");
      expect(rolledBack).toMatchObject({ state: "rolled_back", details: { skipped: [changed] } });
      expect(await allAt(s, macs.slice(1), "1.0")()).toBe(true);
      expect(await versionOf(s, changed)).toBe("2.1");

      // Nothing is active any more: the driver's alarm lapses, and no idle alarm comes back.
      const transitions = () =>
        worker
          .lines()
          .filter(
            (l) => String(l.msg).startsWith("no rollout is active") || String(l.msg).startsWith("a rollout is active"),
          );
      expect(await within(5000, async () => String(transitions().at(-1)?.msg).startsWith("no rollout"))).toBeDefined();
      const settled = transitions().length;
      await sleep(2500);
      expect(transitions().length).toBe(settled);

      // Each device: its first save, its wave's, then the rollback's (or, for the changed one, the admin's).
      await sub.waitFor(18);
      const saves = savesPerFile(sub.messages);
      for (const mac of macs) expect(saves.get(`${mac}.json`), mac).toBe(3);
    } catch (error) {
      console.log(worker.output().slice(-8000));
      throw error;
    } finally {
      await sub.close();
      await worker.cleanup();
      await rm(persistTo, { recursive: true, force: true });
    }
  }, 90_000);
});

describe("a Worker without the ROLLOUTS binding", () => {
  it("answers the rollouts routes 503 SERVER_MISCONFIGURED naming the binding, and serves the rest", async () => {
    const worker = await startWorkerDev({ ...FLEET_ENV(), SIGNING_KEY: keys.pkcs1 }, { rollouts: false });
    try {
      const s = clientOf(worker);
      const [mac] = fleetMacs(1, "e1-00-00-00") as [string];
      await s.c.saveConfig(mac, original(mac));
      expect((await worker.fetch("/api/health")).status).toBe(200);
      const spec = {
        name: "no driver",
        patch: { firmware: { version: "2.0" } },
        targets: [mac],
        waves: [100],
        advance_when: { applied_percent: 100, within_s: 600 },
        halt_when: { failed_percent: 50 },
      };
      for (const res of [await s.post("/api/rollouts", spec), await s.c.admin("/api/rollouts")]) {
        const body = await expectError(res, 503, "SERVER_MISCONFIGURED");
        expect(body.details).toMatchObject({ variable: "ROLLOUTS" });
        expect(body.error).toContain("ROLLOUTS");
      }
      // Still behind the admin gate: no credentials, 401 before any word about the binding.
      expect((await worker.fetch("/api/rollouts")).status).toBe(401);
      expect(await versionOf(s, mac)).toBe("1.0");
      expect(worker.lines().some((l) => String(l.msg).includes("ROLLOUTS is missing"))).toBe(true);
    } finally {
      await worker.cleanup();
    }
  }, 60_000);
});
