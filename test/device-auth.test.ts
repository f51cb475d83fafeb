/**
 * Device identity on every runtime: the same contract (support/device-auth-contract.ts)
 * against Node in process, and against real Node, Deno and Bun server processes and the
 * Worker under `wrangler dev`, each started with DEVICE_AUTH=device and an admin token.
 */
import { createTestApp } from "./support/app.js";
import { closingFetch } from "./support/closing-fetch.js";
import { deviceAuthContract, deviceAuthEnv } from "./support/device-auth-contract.js";
import { testKeys } from "./support/keys.js";
import { serverRuntimes, spawnServer } from "./support/server.js";
import { startWorkerDev } from "./support/worker-dev.js";

const keys = testKeys();

deviceAuthContract("Node in process, filesystem storage", async () => {
  const t = await createTestApp("fs", deviceAuthEnv());
  return { fetch: async (path, init) => t.app.request(path, init), sign: t.sign, close: t.cleanup };
});

for (const runtime of serverRuntimes()) {
  deviceAuthContract(`${runtime.name} server process`, async () => {
    const server = await spawnServer({ ...deviceAuthEnv(), SIGNING_KEY: keys.pkcs1 }, undefined, runtime.command);
    return { fetch: closingFetch(server.url), sign: keys.sign, close: server.cleanup };
  });
}

deviceAuthContract("Cloudflare Worker (wrangler dev, local R2)", async () => {
  const worker = await startWorkerDev({ ...deviceAuthEnv(), SIGNING_KEY: keys.pkcs1 });
  // Devices do not ask for gzip, which would drop Content-Length on the local runtime as on the edge.
  const fetchAsDevice = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (!headers.has("accept-encoding")) headers.set("accept-encoding", "identity");
    return worker.fetch(path, { ...init, headers });
  };
  return { fetch: fetchAsDevice, sign: keys.sign, close: worker.cleanup };
});
