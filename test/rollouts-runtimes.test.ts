/**
 * The rollout contract against a real server process on each runtime (Node, Deno, Bun),
 * with a real broker as its sink: the runtime's timer advances a wave within 2 s of the
 * report that tips it, failed reports halt it, a rollback restores every device and is
 * notified, the API answers as SPEC says, and SIGTERM exits 0 after the rollouts closed.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Broker, mosquittoAvailable, startBroker, subscribe } from "./support/mosquitto.js";
import {
  fleetMacs,
  readConfig,
  savesPerFile,
  startRolloutServer,
  storedEvents,
  within,
  writeConfigs,
} from "./support/rollout-servers.js";
import { serverRuntimes } from "./support/server.js";

const haveBroker = mosquittoAvailable();
let broker: Broker;
beforeAll(async () => {
  if (haveBroker) broker = await startBroker();
});
afterAll(async () => {
  await broker?.cleanup();
});

const ofType = (events: Array<Record<string, unknown>>, type: string) => events.filter((e) => e.type === type);

describe.skipIf(!haveBroker).each(serverRuntimes())("rollouts on $name", ({ name, command }) => {
  it("advances on reports by its timer, halts on failures, rolls back, and stops cleanly", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), `iot-rollout-${name}-`));
    const macs = fleetMacs(6, "c0-00-00-00");
    const original = (mac: string) => ({ deviceName: mac, firmware: { version: "1.0" } });
    await writeConfigs(dataDir, macs, original);
    const sub = await subscribe(broker.tcpUrl, ["iotsupport/updates/configs"]);
    const s = await startRolloutServer(dataDir, broker.tcpUrl, command);
    try {
      const created = await s.create({
        name: `on ${name}`,
        patch: { firmware: { version: "2.0" } },
        targets: macs,
        waves: [50, 100],
        advance_when: { applied_percent: 100, within_s: 600 },
        halt_when: { failed_percent: 30 },
      });
      expect(created).toMatchObject({ id: "1", state: "running", counts: { targets: 6, released: 3, pending: 3 } });
      const events = () => storedEvents(dataDir, "1");
      expect(await within(10_000, async () => ofType(await events(), "released").length === 1)).toBeDefined();
      await s.reportAll(macs.slice(0, 3), "ok");
      const tipped = await within(10_000, async () => ofType(await events(), "release").length === 2);
      console.log(`${name}: wave 2 released ${tipped} ms after the tipping report`);
      expect(tipped).toBeLessThanOrEqual(2500);
      expect(await within(10_000, async () => ofType(await events(), "released").length === 2)).toBeDefined();
      await s.reportAll(macs.slice(3, 5), "failed");
      const halted = await within(10_000, async () => (await s.get("1")).state === "halted");
      console.log(`${name}: halted ${halted} ms after the failed reports`);
      expect(halted).toBeLessThanOrEqual(2500);
      expect((await s.get("1")).counts).toEqual({ targets: 6, released: 6, applied: 3, failed: 2, pending: 1 });
      await s.act("1", "resume", 409);
      const rolledBack = await s.act("1", "rollback");
      expect(rolledBack).toMatchObject({ state: "rolled_back", details: { skipped: [] } });
      for (const mac of macs) expect(await readConfig(dataDir, mac)).toEqual(original(mac));
      const list = (await (await s.c.admin("/api/rollouts")).json()) as { count: number };
      expect(list.count).toBe(1);
      expect(await s.server.stop("SIGTERM")).toBe(0);
      // Each device: saved by its wave, then by the rollback.
      await sub.waitFor(12);
      const saves = savesPerFile(sub.messages);
      for (const mac of macs) expect(saves.get(`${mac}.json`), mac).toBe(2);
    } finally {
      await sub.close();
      await s.server.cleanup();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
