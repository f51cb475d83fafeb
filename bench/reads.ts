/**
 * Cached config reads (issues 11 and 22): GET /files/configs/{mac}.json answered 200, and 304
 * with If-None-Match, at 50 connections — on each of Node, Deno and Bun against a Hono
 * hello-world on the same runtime (@hono/node-server, Deno.serve, Bun.serve) sending the same
 * bytes, in alternating rounds of the same run. Each runtime also serves a device reading its
 * own config with its own token (DEVICE_AUTH=device; every read is recorded in the fleet
 * records, as always). nginx (one worker, sendfile) and bare node:http with a constant body
 * are reference lines on Node, not goals. On Deno, a bare Deno.serve handler giving the same
 * answer with no app (support/floor-deno.ts) is a reference line: what Deno itself takes for
 * this answer, against which the server's own cost is the rest.
 *
 *   npx tsx bench/reads.ts [node|deno|bun ...]   # all three when none is named
 */
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { assertClean, type HttpLoadResult, httpLoad, LOAD_TOOL } from "./support/http-load.js";
import { BENCH_SECONDS } from "./support/load.js";
import { nginxAvailable, startNginx } from "./support/nginx.js";
import { BUN, BUN_SERVER, DENO, denoServerCommand, NODE_SERVER } from "./support/read-servers.js";
import { alternate, BENCH_ROUNDS, logRounds, median } from "./support/rounds.js";
import { type BenchServer, startServer } from "./support/server.js";
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
async function measure(targets: Record<string, Target>): Promise<Record<string, number>> {
  const keys = Object.keys(targets);
  for (const key of keys) await run(key, targets[key] as Target, 1)();
  const runs = Object.fromEntries(keys.map((k) => [k, run(k, targets[k] as Target)]));
  const results = await alternate(runs);
  logRounds(results, (r) => r.rps, "req/s", "hello");
  return Object.fromEntries(keys.map((k) => [k, median(results[k] as HttpLoadResult[], (r) => r.rps)]));
}

/** Deno running a bench script of its own (the hello-world, the floor). */
const DENO_BARE = [DENO, "run", "--node-modules-dir=manual", "--allow-net", "--allow-read", "--allow-env"];

const tool = `${LOAD_TOOL}, ${CONNECTIONS} conns, median of ${BENCH_ROUNDS}`;

/** A server holding the config file (started with `env`): copied in, as another process wrote it. */
async function serverWithConfig(command: string[], configFile: string, env: Record<string, string> = {}) {
  const server = await startServer(env, command);
  await mkdir(join(server.dataDir, "configs"), { recursive: true });
  await copyFile(configFile, join(server.dataDir, "configs", `${MAC}.json`));
  return server;
}

/**
 * A server in DEVICE_AUTH=device holding the same config, and the device's own token: the
 * device-read rows measure what checking a token and recording the read cost on the fast path.
 */
async function deviceServer(command: string[], configFile: string): Promise<{ server: BenchServer; token: string }> {
  const server = await serverWithConfig(command, configFile, { DEVICE_AUTH: "device" });
  const issued = await fetch(`${server.url}/api/devices/${MAC}/token`, { method: "POST" });
  if (issued.status !== 201) throw new Error(`POST /api/devices/${MAC}/token: ${issued.status}`);
  return { server, token: ((await issued.json()) as { token: string }).token };
}

/** How one runtime is measured: its server, its hello-world, and reference lines of its own. */
interface RuntimeReads {
  name: "Node" | "Deno" | "Bun";
  server: string[];
  hello: string[];
  vs: string;
  /** Extra targets (name → target, line label), started into `started`; `server` answers the route. */
  references?(
    configFile: string,
    bytes: Uint8Array,
    started: Array<{ stop(): Promise<void> }>,
    server: Target,
  ): Promise<Array<[string, Target, string]>>;
}

/** Header names of an answer, without the two every answer has its own of (Date, X-Request-Id). */
const headerNames = (res: Response) =>
  [...res.headers.keys()].filter((name) => name !== "date" && name !== "x-request-id").sort();

/**
 * Deno's floor: bare Deno.serve giving the same answer as the route with no app. The bench
 * refuses to run if its 200 or 304 carries other header names than the server's.
 */
async function denoReferences(
  configFile: string,
  bytes: Uint8Array,
  started: Array<{ stop(): Promise<void> }>,
  server: Target,
): Promise<Array<[string, Target, string]>> {
  const floor = await startServer({ BODY_FILE: configFile }, [...DENO_BARE, "bench/support/floor-deno.ts"], "/x");
  started.push(floor);
  const [ok, notModified] = await configTargets(floor.url, CONFIG_PATH, bytes);
  for (const [target, status] of [
    [ok, 200],
    [notModified, 304],
  ] as const) {
    const theirs = headerNames(await expectAnswer(target, status));
    const ours = headerNames(
      await expectAnswer({ url: server.url, headers: { ...server.headers, ...target.headers } }, status),
    );
    if (theirs.join() !== ours.join()) throw new Error(`floor ${status} headers ${theirs} differ from ${ours}`);
  }
  return [
    ["floor200", ok, "reference bare Deno.serve, the route's answer with no app, 200"],
    ["floor304", notModified, "reference bare Deno.serve, the route's answer with no app, 304"],
  ];
}

async function nodeReferences(configFile: string, bytes: Uint8Array, started: Array<{ stop(): Promise<void> }>) {
  const bare = await startServer(
    { BODY_FILE: configFile },
    [process.execPath, "bench/support/bare-constant.mjs"],
    "/x",
  );
  started.push(bare);
  const bareTarget: Target = { url: `${bare.url}/x` };
  await expectAnswer(bareTarget, 200, bytes);
  const refs: Array<[string, Target, string]> = [["bare", bareTarget, "reference bare node:http constant body"]];
  if (!nginxAvailable()) {
    console.log("nginx not installed: no nginx reference lines");
    return refs;
  }
  const nginx = await startNginx({ [CONFIG_PATH]: configFile });
  started.push(nginx);
  const [ok, notModified] = await configTargets(nginx.url, CONFIG_PATH, bytes);
  refs.push(
    ["nginx200", ok, "reference nginx config read 200"],
    ["nginx304", notModified, "reference nginx config read 304"],
  );
  return refs;
}

async function runtimeReads(spec: RuntimeReads, configFile: string, bytes: Uint8Array): Promise<string[]> {
  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    const hello = await startServer({ BODY_FILE: configFile }, spec.hello, "/x");
    started.push(hello);
    const helloTarget: Target = { url: `${hello.url}/x` };
    await expectAnswer(helloTarget, 200, bytes);
    const server = await serverWithConfig(spec.server, configFile);
    started.push(server);
    const [server200, server304] = await configTargets(server.url, CONFIG_PATH, bytes);
    const device = await deviceServer(spec.server, configFile);
    started.push(device.server);
    const [device200, device304] = await configTargets(device.server.url, CONFIG_PATH, bytes, {
      Authorization: `Bearer ${device.token}`,
    });
    const references = (await spec.references?.(configFile, bytes, started, server200)) ?? [];

    const rps = await measure({
      hello: helloTarget,
      server200,
      server304,
      device200,
      device304,
      ...Object.fromEntries(references.map(([key, target]) => [key, target])),
    });
    const line = (label: string, key: string) =>
      report(`${label} rps ${spec.vs} (${tool})`, rps[key] as number, "req/s", rps.hello, 0);
    const withToken = "with a device token and read recording";
    return [
      line(`config read 200 on ${spec.name}`, "server200"),
      line(`config read 304 on ${spec.name}`, "server304"),
      line(`config read 200 on ${spec.name} ${withToken}`, "device200"),
      line(`config read 304 on ${spec.name} ${withToken}`, "device304"),
      ...references.map(([key, , label]) => line(label, key)),
      // Against Deno's floor (only Deno has one): what the server adds to what the runtime takes.
      ...(rps.floor200 === undefined
        ? []
        : (["200", "304"] as const).map((status) =>
            report(
              `config read ${status} on ${spec.name} vs its floor (${tool})`,
              rps[`server${status}`] as number,
              "req/s",
              rps[`floor${status}`] as number,
              0,
            ),
          )),
    ];
  } finally {
    for (const s of started.reverse()) await s.stop();
  }
}

async function runtimes(): Promise<Record<string, RuntimeReads>> {
  return {
    node: {
      name: "Node",
      server: NODE_SERVER,
      hello: [process.execPath, "bench/support/hello-node.mjs"],
      vs: "vs Hono hello-world on @hono/node-server",
      references: nodeReferences,
    },
    deno: {
      name: "Deno",
      server: await denoServerCommand(),
      hello: [...DENO_BARE, "bench/support/hello-deno.ts"],
      vs: "vs Hono hello-world on Deno.serve",
      references: denoReferences,
    },
    bun: {
      name: "Bun",
      server: BUN_SERVER,
      hello: [BUN, "bench/support/hello-bun.ts"],
      vs: "vs Hono hello-world on Bun.serve",
    },
  };
}

/** Writes the config through the API of a Node server once, so every runtime serves the same stored bytes. */
export async function readsBench(only: string[] = []): Promise<string[]> {
  const all = await runtimes();
  const chosen = only.length ? only : Object.keys(all);
  for (const name of chosen) if (!all[name]) throw new Error(`unknown runtime ${name}: node, deno or bun`);
  const writer = await startServer({}, NODE_SERVER);
  try {
    const put = await fetch(`${writer.url}/api/configs/${MAC}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ content: CONTENT }),
    });
    if (!put.ok) throw new Error(`PUT /api/configs/${MAC}: ${put.status} ${await put.text()}`);
    const configFile = join(writer.dataDir, "configs", `${MAC}.json`);
    const bytes = new Uint8Array(await readFile(configFile));
    console.log(`config file: ${bytes.length} bytes; load by ${tool}, ${BENCH_SECONDS} s per run`);
    const lines: string[] = [];
    for (const name of chosen) lines.push(...(await runtimeReads(all[name] as RuntimeReads, configFile, bytes)));
    return lines;
  } finally {
    await writer.stop();
  }
}

if (isMain(import.meta.url)) await readsBench(process.argv.slice(2));
