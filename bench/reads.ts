/**
 * Cached config reads (issue 11, figure 1): GET /files/configs/{mac}.json answered 200, and
 * 304 with If-None-Match, at 50 connections — on Node against a Hono hello-world on
 * @hono/node-server, on Bun against a Hono hello-world on Bun.serve, each sending the same
 * bytes and started the same way, in alternating rounds of the same run. nginx (one worker,
 * sendfile) and bare node:http with a constant body are reference lines, not goals.
 */
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { assertClean, type HttpLoadResult, httpLoad, LOAD_TOOL } from "./support/http-load.js";
import { BENCH_SECONDS } from "./support/load.js";
import { type Nginx, nginxAvailable, startNginx } from "./support/nginx.js";
import { alternate, BENCH_ROUNDS, logRounds, median } from "./support/rounds.js";
import { type BenchServer, ROOT, startServer } from "./support/server.js";
import { isMain, report } from "./support/stats.js";

const MAC = "aa-bb-cc-dd-ee-ff";
const CONFIG_PATH = `/files/configs/${MAC}.json`;
const CONNECTIONS = 50;
/** Pretty-printed as the server stores it, this is about the 185 bytes of the hello-world body. */
const CONTENT = {
  deviceName: "bench-device",
  deviceEntityId: "sensor.bench_device",
  enableOTA: true,
  settings: { interval: 60, threshold: 21.5, mode: "eco-1" },
};

const BUN = join(ROOT, "node_modules/.bin/bun");
const NODE_SERVER = [process.execPath, "dist/node.mjs"];
const BUN_SERVER = [BUN, "src/runtimes/bun.ts"];

/** One load target: a URL, and the If-None-Match to send for a 304 run. */
interface Target {
  url: string;
  headers?: Record<string, string>;
}

/** Checks the answer a target gives before loading it, so the load measures what it claims to. */
async function expectAnswer(target: Target, status: number, body?: Uint8Array): Promise<Response> {
  const res = await fetch(target.url, { headers: target.headers });
  const got = new Uint8Array(await res.arrayBuffer());
  if (res.status !== status) throw new Error(`${target.url}: expected ${status}, got ${res.status}`);
  if (body && Buffer.compare(got, body) !== 0) throw new Error(`${target.url}: body differs from the config file`);
  return res;
}

const run = (name: string, target: Target, seconds?: number) => async (): Promise<HttpLoadResult> =>
  assertClean(name, await httpLoad({ url: target.url, connections: CONNECTIONS, seconds, headers: target.headers }));

/** 200 and 304 targets of a server answering the config at `path` (with `headers`, e.g. a device token). */
async function configTargets(
  base: string,
  path: string,
  bytes: Uint8Array,
  headers: Record<string, string> = {},
): Promise<[Target, Target]> {
  const ok: Target = { url: `${base}${path}`, headers };
  const etag = (await expectAnswer(ok, 200, bytes)).headers.get("etag");
  if (!etag) throw new Error(`${ok.url}: no ETag`);
  const notModified: Target = { url: ok.url, headers: { ...headers, "If-None-Match": etag } };
  await expectAnswer(notModified, 304);
  return [ok, notModified];
}

/** Warms every target for a second (JIT, the server's cache), then alternates the rounds. */
async function measure<K extends string>(targets: Record<K, Target>): Promise<Record<K, number>> {
  const keys = Object.keys(targets) as K[];
  for (const key of keys) await run(key, targets[key], 1)();
  const runs = Object.fromEntries(keys.map((k) => [k, run(k, targets[k])])) as Record<K, () => Promise<HttpLoadResult>>;
  const results = await alternate(runs);
  logRounds(results, (r) => r.rps, "req/s", "hello");
  return Object.fromEntries(keys.map((k) => [k, median(results[k], (r) => r.rps)])) as Record<K, number>;
}

const tool = `${LOAD_TOOL}, ${CONNECTIONS} conns, median of ${BENCH_ROUNDS}`;

/**
 * A server in DEVICE_AUTH=device holding the same config, and the device's own token: the
 * device-read rows measure what checking a token costs (a hash, from memory, on the fast path).
 */
async function deviceServer(command: string[], configFile: string): Promise<{ server: BenchServer; token: string }> {
  const server = await startServer({ DEVICE_AUTH: "device" }, command);
  await mkdir(join(server.dataDir, "configs"), { recursive: true });
  await copyFile(configFile, join(server.dataDir, "configs", `${MAC}.json`));
  const issued = await fetch(`${server.url}/api/devices/${MAC}/token`, { method: "POST" });
  if (issued.status !== 201) throw new Error(`POST /api/devices/${MAC}/token: ${issued.status}`);
  return { server, token: ((await issued.json()) as { token: string }).token };
}

async function nodeReads(configFile: string, server: BenchServer, bytes: Uint8Array): Promise<string[]> {
  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    const hello = await startServer(
      { BODY_FILE: configFile },
      [process.execPath, "bench/support/hello-node.mjs"],
      "/x",
    );
    started.push(hello);
    const bare = await startServer(
      { BODY_FILE: configFile },
      [process.execPath, "bench/support/bare-constant.mjs"],
      "/x",
    );
    started.push(bare);
    let nginx: Nginx | undefined;
    if (nginxAvailable()) {
      nginx = await startNginx({ [CONFIG_PATH]: configFile });
      started.push(nginx);
    } else console.log("nginx not installed: no nginx reference lines");

    const [server200, server304] = await configTargets(server.url, CONFIG_PATH, bytes);
    const device = await deviceServer(NODE_SERVER, configFile);
    started.push(device.server);
    const [device200, device304] = await configTargets(device.server.url, CONFIG_PATH, bytes, {
      Authorization: `Bearer ${device.token}`,
    });
    const helloTarget: Target = { url: `${hello.url}/x` };
    const bareTarget: Target = { url: `${bare.url}/x` };
    await expectAnswer(helloTarget, 200, bytes);
    await expectAnswer(bareTarget, 200, bytes);
    const nginxTargets = nginx ? await configTargets(nginx.url, CONFIG_PATH, bytes) : undefined;

    const rps = await measure({
      hello: helloTarget,
      server200,
      server304,
      device200,
      device304,
      bare: bareTarget,
      ...(nginxTargets ? { nginx200: nginxTargets[0], nginx304: nginxTargets[1] } : {}),
    } as Record<string, Target>);
    const vs = "vs Hono hello-world on @hono/node-server";
    const lines = [
      report(`config read 200 on Node rps ${vs} (${tool})`, rps.server200!, "req/s", rps.hello, 0),
      report(`config read 304 on Node rps ${vs} (${tool})`, rps.server304!, "req/s", rps.hello, 0),
      report(
        `device read own config, own token, 200 on Node rps ${vs} (${tool})`,
        rps.device200!,
        "req/s",
        rps.hello,
        0,
      ),
      report(
        `device read own config, own token, 304 on Node rps ${vs} (${tool})`,
        rps.device304!,
        "req/s",
        rps.hello,
        0,
      ),
      report(`reference bare node:http constant body rps ${vs} (${tool})`, rps.bare!, "req/s", rps.hello, 0),
    ];
    if (nginxTargets) {
      lines.push(
        report(`reference nginx config read 200 rps ${vs} (${tool})`, rps.nginx200!, "req/s", rps.hello, 0),
        report(`reference nginx config read 304 rps ${vs} (${tool})`, rps.nginx304!, "req/s", rps.hello, 0),
      );
    }
    return lines;
  } finally {
    for (const s of started.reverse()) await s.stop();
  }
}

async function bunReads(configFile: string, bytes: Uint8Array): Promise<string[]> {
  const started: BenchServer[] = [];
  try {
    const server = await startServer({}, BUN_SERVER);
    started.push(server);
    await mkdir(join(server.dataDir, "configs"), { recursive: true });
    await copyFile(configFile, join(server.dataDir, "configs", `${MAC}.json`));
    const hello = await startServer({ BODY_FILE: configFile }, [BUN, "bench/support/hello-bun.ts"], "/x");
    started.push(hello);

    const [server200, server304] = await configTargets(server.url, CONFIG_PATH, bytes);
    const device = await deviceServer(BUN_SERVER, configFile);
    started.push(device.server);
    const [device200, device304] = await configTargets(device.server.url, CONFIG_PATH, bytes, {
      Authorization: `Bearer ${device.token}`,
    });
    const helloTarget: Target = { url: `${hello.url}/x` };
    await expectAnswer(helloTarget, 200, bytes);
    const rps = await measure({ hello: helloTarget, server200, server304, device200, device304 });
    const vs = "vs Hono hello-world on Bun.serve";
    return [
      report(`config read 200 on Bun rps ${vs} (${tool})`, rps.server200, "req/s", rps.hello, 0),
      report(`config read 304 on Bun rps ${vs} (${tool})`, rps.server304, "req/s", rps.hello, 0),
      report(`device read own config, own token, 200 on Bun rps ${vs} (${tool})`, rps.device200, "req/s", rps.hello, 0),
      report(`device read own config, own token, 304 on Bun rps ${vs} (${tool})`, rps.device304, "req/s", rps.hello, 0),
    ];
  } finally {
    for (const s of started.reverse()) await s.stop();
  }
}

export async function readsBench(): Promise<string[]> {
  const server = await startServer({}, NODE_SERVER);
  try {
    const put = await fetch(`${server.url}/api/configs/${MAC}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ content: CONTENT }),
    });
    if (!put.ok) throw new Error(`PUT /api/configs/${MAC}: ${put.status} ${await put.text()}`);
    const configFile = join(server.dataDir, "configs", `${MAC}.json`);
    const bytes = new Uint8Array(await readFile(configFile));
    console.log(`config file: ${bytes.length} bytes; load by ${tool}, ${BENCH_SECONDS} s per run`);
    return [...(await nodeReads(configFile, server, bytes)), ...(await bunReads(configFile, bytes))];
  } finally {
    await server.stop();
  }
}

if (isMain(import.meta.url)) await readsBench();
