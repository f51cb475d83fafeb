/**
 * The production recipe for Node (README, "Production on Node"), as far as it runs here:
 * the systemd unit passes `systemd-analyze verify` with no warning (and a broken copy does
 * not, so the check can fail); deploy/env.example refuses to boot until its admin auth is filled
 * in, then boots with local checks allowed; and the
 * Dockerfile's runtime stage works as written: only dist/ (the bundle and the API docs'
 * Swagger UI files beside it), copied where no node_modules can be found, run with the
 * image's command and environment; the bundle without those files refuses to start unless
 * API_DOCS=false. The image itself is not built: no Docker engine runs on these machines.
 */
import { execFile, spawnSync } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootOutcome, expectRefusal } from "./support/boot-outcome.js";
import { expectPackageFiles, loadDocsPage } from "./support/docs-page.js";
import { testKeys } from "./support/keys.js";
import { ROOT, type SpawnedServer, spawnServer } from "./support/server.js";

const run = promisify(execFile);
const hasSystemd = spawnSync("systemd-analyze", ["--version"]).status === 0;
if (!hasSystemd && !process.env.CI) {
  console.warn("\n*** systemd-analyze not found: the systemd unit check is SKIPPED (apt-get install systemd) ***\n");
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "iot-test-deploy-"));
  // The bundle the unit and the image run; built the way `npm start` builds it.
  await run(process.execPath, ["scripts/build.mjs"], { cwd: ROOT });
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** GET /api/health with this Host header (fetch does not let a caller set Host). */
function statusWithHost(url: string, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    get(`${url}/api/health`, { headers: { Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on("error", reject);
  });
}

async function verifyUnit(text: string) {
  const dir = await mkdtemp(join(scratch, "unit-"));
  const path = join(dir, "iot-support.service");
  await writeFile(path, text);
  const result = spawnSync("systemd-analyze", ["verify", path], { encoding: "utf8" });
  return { status: result.status, stderr: result.stderr.trim() };
}

describe.skipIf(!hasSystemd && !process.env.CI)("systemd unit", () => {
  it("passes systemd-analyze verify without a warning, and runs the bundle directly", async () => {
    const unit = await readFile(join(ROOT, "deploy/iot-support.service"), "utf8");
    expect(await verifyUnit(unit)).toEqual({ status: 0, stderr: "" });
    // `node` by name, found in systemd's search path wherever the system's Node lives (README, "Node 20 or newer").
    expect(unit).toMatch(/^ExecStart=node --enable-source-maps \/opt\/iot-support\/dist\/node\.mjs$/m);
  });

  it("resolves the program by name: a name systemd cannot find is reported", async () => {
    const unit = await readFile(join(ROOT, "deploy/iot-support.service"), "utf8");
    const missing = await verifyUnit(unit.replace("ExecStart=node ", "ExecStart=node-not-installed-here "));
    expect(missing.stderr).toContain("node-not-installed-here");
  });

  it("the same check reports a broken unit (so it can fail)", async () => {
    const unit = await readFile(join(ROOT, "deploy/iot-support.service"), "utf8");
    const broken = await verifyUnit(unit.replace("Restart=on-failure", "Restart=sometimes"));
    expect(broken.stderr).toContain("sometimes");
  });
});

describe("deployment settings and the container's runtime stage", () => {
  let server: SpawnedServer | undefined;
  afterAll(async () => {
    await server?.cleanup();
  });

  /** deploy/env.example's assignments, as systemd's EnvironmentFile reads them. */
  async function envExample(): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const line of (await readFile(join(ROOT, "deploy/env.example"), "utf8")).split("\n")) {
      const match = /^([A-Z_]+)=(.*)$/.exec(line);
      if (match) env[match[1] as string] = match[2] as string;
    }
    return env;
  }

  it("refuses to boot on deploy/env.example as shipped, with one line naming API_TOKEN_HASHES", async () => {
    // Only the port and the data directory are moved (so no test writes to /var/lib); the
    // settings are checked before either is used.
    const data = await mkdtemp(join(scratch, "data-"));
    const outcome = await bootOutcome({ ...(await envExample()), PORT: "0", DATA_DIR: data });
    const line = expectRefusal(outcome, "API_TOKEN_HASHES");
    expect(line).toContain("placeholder");
    expect(line).toContain("npx iot-token");
  });

  it("boots on deploy/env.example with its blanks filled in; local checks by localhost and 127.0.0.1 pass", async () => {
    const keyPath = join(scratch, "signing-public.pem");
    await writeFile(keyPath, testKeys().spki);
    const data = await mkdtemp(join(scratch, "data-"));
    server = await spawnServer({
      ...(await envExample()),
      PORT: "0",
      DATA_DIR: data,
      SIGNING_KEY_PATH: keyPath,
      API_TOKEN_HASHES: "a".repeat(64),
    });
    expect(await statusWithHost(server.url, "iot.example.com")).toBe(200);
    // The Monitoring section's health check and Prometheus scrape, from the same host.
    const port = new URL(server.url).port;
    expect(await statusWithHost(server.url, `localhost:${port}`)).toBe(200);
    expect(await statusWithHost(server.url, `127.0.0.1:${port}`)).toBe(200);
    // ALLOWED_HOSTS from the example is in force: another name is refused.
    expect(await statusWithHost(server.url, "evil.example")).toBe(421);
    expect(await server.stop("SIGTERM")).toBe(0);
    server = undefined;
  });

  /** The image's command and environment, from the Dockerfile. */
  async function image() {
    const dockerfile = await readFile(join(ROOT, "Dockerfile"), "utf8");
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? "[]") as string[];
    expect(cmd.slice(0, 1)).toEqual(["node"]);
    // The runtime stage holds dist/ only, copied whole.
    expect(dockerfile).toMatch(/^COPY --from=build \/src\/dist\/ \.\/dist\/$/m);
    const env = Object.fromEntries(
      [...(/^ENV (.*)$/m.exec(dockerfile)?.[1] ?? "").matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1], m[2]]),
    ) as Record<string, string>;
    expect(env.HOST).toBe("0.0.0.0");
    return { cmd, env };
  }

  /** `files` of dist/ copied where no node_modules is reachable; the image's command, pointed at that copy. */
  async function deployed(files: string[]) {
    const { cmd, env } = await image();
    const app = await mkdtemp(join(scratch, "app-"));
    await mkdir(join(app, "dist"));
    for (const file of files) await cp(join(ROOT, "dist", file), join(app, "dist", file), { recursive: true });
    const [, ...args] = cmd.map((arg) => (arg === "dist/node.mjs" ? join(app, "dist/node.mjs") : arg));
    const data = await mkdtemp(join(scratch, "image-data-"));
    return { env: { ...env, PORT: "0", DATA_DIR: data }, command: { command: process.execPath, args } };
  }

  it("runs the Dockerfile's command on dist/ alone, with the image's environment, the API docs included", async () => {
    const { env, command } = await deployed(["node.mjs", "swagger-ui-dist"]);
    server = await spawnServer(env, "dist/node.mjs", command);
    expect(server.lines().some((l) => l.msg === "listening" && String(l.host ?? l.url ?? "").includes("0.0.0.0"))).toBe(
      true,
    );
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
    const url = server.url;
    const { loaded } = await loadDocsPage((path) => fetch(`${url}${path}`), url);
    await expectPackageFiles(loaded);
    expect(await server.stop("SIGTERM")).toBe(0);
    server = undefined;
  });

  it("refuses to start the bundle without its Swagger UI files, naming API_DOCS; starts with API_DOCS=false", async () => {
    const { env, command } = await deployed(["node.mjs"]);
    const line = expectRefusal(await bootOutcome(env, command), "API_DOCS");
    expect(line).toContain("dist/swagger-ui-dist");
    server = await spawnServer({ ...env, API_DOCS: "false" }, "dist/node.mjs", command);
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/api/docs`)).status).toBe(404);
    expect(await server.stop("SIGTERM")).toBe(0);
    server = undefined;
  });
});

describe("README, Production on Node: the signing key pair", () => {
  it("made as written, signs an upload the server verifies with the public half only", async () => {
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    const block = /<!-- readme-test: prod-keys -->\n```bash\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const dir = await mkdtemp(join(scratch, "keys-"));
    await run("bash", ["-euo", "pipefail", "-c", block as string], { cwd: dir });
    const data = await mkdtemp(join(scratch, "keys-data-"));
    const server = await spawnServer({ DATA_DIR: data, SIGNING_KEY_PATH: join(dir, "signing-public.pem") });
    try {
      await writeFile(join(dir, "firmware.bin"), "hello, ESP32");
      const { stdout } = await run(
        process.execPath,
        [
          "bin/iot-upload.mjs",
          join(dir, "firmware.bin"),
          "--server",
          server.url,
          "--key",
          join(dir, "signing-private.pem"),
        ],
        { cwd: ROOT },
      );
      expect(stdout).toMatch(/^uploaded firmware\.bin \(12 bytes\)/);
    } finally {
      await server.cleanup();
    }
  });
});
