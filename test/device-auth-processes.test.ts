/**
 * Device identity across real processes: two Node servers on one data directory (tokens
 * shared through STATE_DIR, a revocation on one holding on the other within the 1 s bound,
 * tokens kept over a restart), the miss limit per client address in open mode, and the
 * boot warning for open device reads off loopback.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, deviceAuthEnv } from "./support/device-auth-contract.js";
import { metricValue } from "./support/http.js";
import { testKeys } from "./support/keys.js";
import { type SpawnedServer, spawnServer } from "./support/server.js";

const keys = testKeys();
const MAC = "aa-bb-cc-dd-ee-01";
const servers: SpawnedServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.cleanup();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const start = async (env: Record<string, string>) => {
  const server = await spawnServer({ SIGNING_KEY: keys.pkcs1, ...env });
  servers.push(server);
  return server;
};
const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const read = (server: SpawnedServer, token: string) =>
  fetch(`${server.url}/files/configs/${MAC}.json`, { headers: { Authorization: `Bearer ${token}` } });

describe("device tokens shared by processes on one data directory", () => {
  it("a token issued on one server works on the other; revoked on one, refused on the other within 1 s; kept over a restart", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "iot-shared-"));
    dirs.push(dataDir);
    const env = { ...deviceAuthEnv(), DATA_DIR: dataDir };
    const one = await start(env);
    const two = await start(env);
    const put = await fetch(`${one.url}/api/configs/${MAC}`, {
      method: "PUT",
      headers: { ...admin, "Content-Type": "application/json" },
      body: JSON.stringify({ content: { deviceName: "shared" } }),
    });
    expect(put.status).toBe(200);
    const issued = await fetch(`${one.url}/api/devices/${MAC}/token`, { method: "POST", headers: admin });
    const { token } = (await issued.json()) as { token: string };
    expect((await read(two, token)).status).toBe(200);

    const revoked = await fetch(`${one.url}/api/devices/${MAC}/token`, { method: "DELETE", headers: admin });
    expect(revoked.status).toBe(204);
    const at = Date.now();
    expect((await read(one, token)).status).toBe(401);
    let refusedAfter: number | undefined;
    while (Date.now() - at < 3000) {
      if ((await read(two, token)).status === 401) {
        refusedAfter = Date.now() - at;
        break;
      }
      await new Promise((done) => setTimeout(done, 50));
    }
    console.log(`revocation seen by the second process after ${refusedAfter} ms (bound: 1000 ms plus one request)`);
    expect(refusedAfter).toBeDefined();

    const again = await fetch(`${one.url}/api/devices/${MAC}/token`, { method: "POST", headers: admin });
    const second = ((await again.json()) as { token: string }).token;
    await one.stop();
    const restarted = await start(env);
    expect((await read(restarted, second)).status).toBe(200);
    expect((await read(restarted, token)).status).toBe(401);
  }, 60_000);
});

/** A device read from `from` (all of 127/8 is loopback here), answered status and Retry-After. */
function readFrom(server: SpawnedServer, from: string, mac: string): Promise<{ status: number; retryAfter?: string }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress: from });
    let answer = "";
    socket.on("data", (d) => {
      answer += d;
    });
    socket.on("error", reject);
    socket.on("close", () =>
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]),
        retryAfter: /\r\nretry-after: (\d+)/i.exec(answer)?.[1],
      }),
    );
    socket.write(`GET /files/configs/${mac}.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  });
}

describe("guessing costs time in open mode", () => {
  it("past DEVICE_READ_MISS_LIMIT misses a minute an address gets 429 with Retry-After, hits included; another address does not", async () => {
    const server = await start({ DEVICE_READ_MISS_LIMIT: "5" });
    const put = await fetch(`${server.url}/api/configs/${MAC}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ content: { deviceName: "findable" } }),
    });
    expect(put.status).toBe(200);
    // Read once first, so the config is cached and the fast path would answer it.
    expect((await readFrom(server, "127.0.0.3", MAC)).status).toBe(200);
    const misses = [];
    for (let i = 0; i < 5; i++) misses.push((await readFrom(server, "127.0.0.3", `aa-bb-cc-dd-ee-${10 + i}`)).status);
    expect(misses).toEqual([404, 404, 404, 404, 404]);
    const limited = await readFrom(server, "127.0.0.3", "aa-bb-cc-dd-ee-99");
    expect(limited.status).toBe(429);
    expect(Number(limited.retryAfter)).toBeGreaterThan(0);
    expect(Number(limited.retryAfter)).toBeLessThanOrEqual(60);
    expect((await readFrom(server, "127.0.0.3", MAC)).status).toBe(429);
    expect((await readFrom(server, "127.0.0.4", MAC)).status).toBe(200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, "iot_device_reads_limited_total")).toBe(2);
    expect(metrics).not.toContain("127.0.0.3");
  }, 60_000);

  it("warns at boot when device reads are open off loopback, and not on loopback", async () => {
    const open = await start({ HOST: "0.0.0.0", ALLOW_ANONYMOUS_ADMIN: "true" });
    expect(open.lines().some((l) => l.level === "warn" && String(l.msg).includes("DEVICE_AUTH=open"))).toBe(true);
    const local = await start({});
    expect(local.lines().some((l) => String(l.msg).includes("DEVICE_AUTH=open"))).toBe(false);
  }, 60_000);
});
