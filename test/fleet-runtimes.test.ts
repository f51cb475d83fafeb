/**
 * The fleet contract (support/fleet-contract.ts) on real runtimes: Node, Deno and Bun
 * server processes (fast path included: configs are read twice or more) and the Worker
 * under `wrangler dev` with local R2, where the fetches are written from the request's
 * waitUntil.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { closingFetch } from "./support/closing-fetch.js";
import { FLEET_ENV, fleetClient, fleetContract, randomMac } from "./support/fleet-contract.js";
import { testKeys } from "./support/keys.js";
import { serverRuntimes, spawnServer } from "./support/server.js";
import { startWorkerDev } from "./support/worker-dev.js";

const keys = testKeys();

for (const runtime of serverRuntimes()) {
  fleetContract(`${runtime.name} server process`, async () => {
    const server = await spawnServer({ ...FLEET_ENV(), SIGNING_KEY: keys.pkcs1 }, undefined, runtime.command);
    return { fetch: closingFetch(server.url), close: server.cleanup };
  });
}

fleetContract("Cloudflare Worker (wrangler dev, local R2)", async () => {
  const worker = await startWorkerDev({ ...FLEET_ENV(), SIGNING_KEY: keys.pkcs1 });
  return { fetch: (path, init) => worker.fetch(path, init), close: worker.cleanup };
});

describe("the Worker writes device reads to R2", () => {
  it("a read recorded in one wrangler dev is in R2 for the next one on the same state, with the report", async () => {
    const persistTo = await mkdtemp(join(tmpdir(), "iot-fleet-r2-"));
    try {
      const vars = { ...FLEET_ENV(), SIGNING_KEY: keys.pkcs1 };
      const first = await startWorkerDev(vars, { persistTo });
      const c = fleetClient(() => (path, init) => first.fetch(path, init));
      const [reader, reporter] = [randomMac(), randomMac()];
      try {
        await c.saveConfig(reader, { deviceName: "read on a Worker" });
        const { etag } = await c.read(reader);
        expect((await c.report(reporter, { state: "ok", firmware_version: "w1" })).status).toBe(204);
        // The batch is written 5 s after the read (a timer handed to that request's waitUntil).
        await new Promise((done) => setTimeout(done, 7000));
        await first.cleanup();
        const next = await startWorkerDev(vars, { persistTo });
        try {
          const n = fleetClient(() => (path, init) => next.fetch(path, init));
          expect(await n.device(reader)).toMatchObject({ fetched_etag: etag, sync: "current" });
          expect(await n.device(reporter)).toMatchObject({ state: "ok", firmware_version: "w1" });
        } finally {
          await next.cleanup();
        }
      } finally {
        await first.cleanup();
      }
    } finally {
      await rm(persistTo, { recursive: true, force: true });
    }
  }, 120_000);
});
