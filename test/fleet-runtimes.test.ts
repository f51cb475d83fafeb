/**
 * The fleet contract (support/fleet-contract.ts) on real runtimes: Node, Deno and Bun
 * server processes (fast path included: configs are read twice or more) and the Worker
 * under `wrangler dev` with local R2, where the fetches are written from the request's
 * waitUntil.
 */
import { FLEET_ENV, fleetContract } from "./support/fleet-contract.js";
import { testKeys } from "./support/keys.js";
import { npmScript, runtimeAvailable, spawnServer } from "./support/server.js";
import { startWorkerDev } from "./support/worker-dev.js";

const keys = testKeys();

for (const runtime of [
  { name: "node", script: "start" },
  { name: "deno", script: "start:deno" },
  { name: "bun", script: "start:bun" },
] as const) {
  if (runtime.name !== "node" && !runtimeAvailable(runtime.name)) continue;
  fleetContract(`${runtime.name} server process`, async () => {
    const server = await spawnServer(
      { ...FLEET_ENV(), SIGNING_KEY: keys.pkcs1 },
      undefined,
      runtime.name === "node" ? undefined : npmScript(runtime.script),
    );
    return { fetch: (path, init) => fetch(`${server.url}${path}`, init), close: server.cleanup };
  });
}

fleetContract("Cloudflare Worker (wrangler dev, local R2)", async () => {
  const worker = await startWorkerDev({ ...FLEET_ENV(), SIGNING_KEY: keys.pkcs1 });
  return { fetch: (path, init) => worker.fetch(path, init), close: worker.cleanup };
});
