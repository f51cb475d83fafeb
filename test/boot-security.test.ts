/**
 * What the server refuses at boot, and what it keeps to itself, proven on real processes:
 * unusable data directories stop the boot with one line naming the variable (Node, and the
 * shared checks on Deno and Bun; weak RSA keys: boot-signing-key.test.ts); the development private key is
 * never generated inside a served directory, nor a SIGNING_KEY_PATH private key read from
 * one; MQTT_USERNAME never reaches the output; UPLOAD_SIGNATURE_REUSE=allow is warned
 * about; and two servers sharing their data accept each upload signature once between them.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { apartFrom, bootOutcome, expectRefusal, pemBody } from "./support/boot-outcome.js";
import { testKeys } from "./support/keys.js";
import { npmScript, runtimeAvailable, type SpawnedServer, spawnServer } from "./support/server.js";
import { freshTimestamp } from "./support/upload-stream.js";
import { waitUntil } from "./support/wait.js";

/** A deadline for a boot on Deno or Bun (a cold Deno compiles the TypeScript first), not a speed expectation. */
const OTHER_RUNTIME_TEST_MS = 150_000;
/** A deadline for a test that boots two Node servers on a loaded machine. */
const TWO_SERVERS_TEST_MS = 120_000;

/** Every file name under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name));
}

/** A version 1 upload (the signature covers the timestamp), as `iot-upload --v1` sends it. */
function v1Upload(sign: (message: string) => string, filename: string, content: string, timestamp: string): FormData {
  const form = new FormData();
  form.append("timestamp", timestamp);
  form.append("signature", sign(timestamp));
  form.append("file", new Blob([content]), filename);
  return form;
}

const postAsset = (url: string, form: FormData) => fetch(`${url}/api/assets`, { method: "POST", body: form });

let root: string;
let caseNumber = 0;
/** A fresh folder for one case, under the root that afterAll removes whatever happened. */
async function caseDir(): Promise<string> {
  const dir = join(root, `case-${++caseNumber}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "iot-boot-security-"));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

let servers: SpawnedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.cleanup()));
  servers = [];
});
/** Starts a Node server that afterEach stops and removes, whatever the test's outcome. */
async function startServer(env: Record<string, string>): Promise<SpawnedServer> {
  const server = await spawnServer(env);
  servers.push(server);
  return server;
}

describe("unusable data directories", () => {
  it.each(["ESP32_CONFIGS_DIR", "ASSETS_DIR", "STATE_DIR"])(
    "%s=/dev/null/x stops the Node boot with one line naming it",
    async (variable) => {
      const line = expectRefusal(await bootOutcome({ [variable]: "/dev/null/x" }), variable);
      expect(line).toContain('"/dev/null/x"');
      expect(line).toContain("ENOTDIR");
    },
  );

  it("DATA_DIR=/dev/null/x stops the Node boot with one line naming DATA_DIR (the variable the operator set)", async () => {
    const line = expectRefusal(await bootOutcome({ DATA_DIR: "/dev/null/x" }), "DATA_DIR");
    expect(line).toContain("/dev/null/x");
  });

  it("a regular file as ASSETS_DIR stops the Node boot with one line naming it", async () => {
    const file = join(await caseDir(), "not-a-dir");
    await writeFile(file, "x");
    expect(expectRefusal(await bootOutcome({ ASSETS_DIR: file }), "ASSETS_DIR")).toContain(`"${file}"`);
  });

  describe.each(["deno", "bun"] as const)("on %s (the checks shared through boot.ts)", (runtime) => {
    if (!runtimeAvailable(runtime)) {
      it.skip(`${runtime} SKIPPED: the ${runtime} binary from npm cannot start on this machine`);
      return;
    }
    const command = npmScript(`start:${runtime}`);

    it(
      "ESP32_CONFIGS_DIR=/dev/null/x stops the boot with one line naming it",
      async () => {
        const line = expectRefusal(
          await bootOutcome({ ESP32_CONFIGS_DIR: "/dev/null/x" }, command),
          "ESP32_CONFIGS_DIR",
        );
        expect(line).toContain('"/dev/null/x"');
      },
      OTHER_RUNTIME_TEST_MS,
    );

    it(
      "ASSETS_DIR=<DATA_DIR> (the other directories elsewhere) is refused naming DATA_DIR, and no development key is written",
      async () => {
        const dir = await caseDir();
        const dataDir = join(dir, "data");
        const env = { DATA_DIR: dataDir, ASSETS_DIR: dataDir, ...apartFrom(await caseDir(), ["ASSETS_DIR"]) };
        expectRefusal(await bootOutcome(env, command), "DATA_DIR");
        expect((await filesUnder(dir)).filter((f) => f.includes("dev-signing-key"))).toEqual([]);
      },
      OTHER_RUNTIME_TEST_MS,
    );
  });
});

describe("the private key is never inside a served directory", () => {
  const devKeyFiles = async (dir: string) => (await filesUnder(dir)).filter((f) => f.includes("dev-signing-key"));

  // DATA_DIR is <case>/srv/data in each; the directories a case does not set are in a folder of their
  // own, so that only the key's place is wrong (with the defaults, the layout check refuses first).
  it.each<[string, (caseRoot: string) => Record<string, string>]>([
    ["ASSETS_DIR=<DATA_DIR>", (c) => ({ ASSETS_DIR: join(c, "srv", "data") })],
    ["ESP32_CONFIGS_DIR=<DATA_DIR>", (c) => ({ ESP32_CONFIGS_DIR: join(c, "srv", "data") })],
    ["ESP32_CONFIGS_DIR=<parent of DATA_DIR>", (c) => ({ ESP32_CONFIGS_DIR: join(c, "srv") })],
    ["ASSETS_DIR=<grandparent of DATA_DIR>", (c) => ({ ASSETS_DIR: c })],
  ])("%s: refused naming DATA_DIR before any development key is written", async (_name, served) => {
    const dir = await caseDir();
    const set = served(dir);
    const env = { DATA_DIR: join(dir, "srv", "data"), ...apartFrom(await caseDir(), Object.keys(set)), ...set };
    const line = expectRefusal(await bootOutcome(env), "DATA_DIR");
    expect(line).toContain("dev-signing-key.pem");
    expect(await devKeyFiles(dir)).toEqual([]);
  });

  it("the default layout (served directories below DATA_DIR, key beside them) boots with a development key", async () => {
    const dataDir = join(await caseDir(), "data");
    const server = await startServer({ DATA_DIR: dataDir });
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
    expect(existsSync(join(dataDir, "dev-signing-key.pem"))).toBe(true);
    // The default is deny: no reuse warning.
    expect(server.output()).not.toContain("UPLOAD_SIGNATURE_REUSE=allow");
  });

  it.each<[string, string]>([
    ["ASSETS_DIR", "signing-key.pem"],
    ["ASSETS_DIR", "keys/deep/signing-key.pem"],
    ["ESP32_CONFIGS_DIR", "signing-key.pem"],
  ])("a private SIGNING_KEY_PATH inside %s (%s) is refused naming SIGNING_KEY_PATH", async (served, relative) => {
    const dir = await caseDir();
    const servedDir = join(dir, "served");
    const keyPath = join(servedDir, relative);
    await mkdir(join(keyPath, ".."), { recursive: true });
    await writeFile(keyPath, testKeys().pkcs8, { mode: 0o600 });
    const outcome = await bootOutcome({ [served]: servedDir, SIGNING_KEY_PATH: keyPath });
    expect(expectRefusal(outcome, "SIGNING_KEY_PATH")).toContain(served);
    for (const body of pemBody(testKeys().pkcs8)) expect(outcome.output).not.toContain(body);
  });

  // Only the link's directory is resolved today, so this key boots, and GET /files/assets/signing-key.pem serves it.
  it("a private SIGNING_KEY_PATH that is a link, outside, to a key inside ASSETS_DIR is refused", async () => {
    const dir = await caseDir();
    const assets = join(dir, "assets");
    await mkdir(assets);
    await mkdir(join(dir, "keys"));
    await writeFile(join(assets, "signing-key.pem"), testKeys().pkcs1, { mode: 0o600 });
    const link = join(dir, "keys", "signing-key.pem");
    await symlink(join(assets, "signing-key.pem"), link);
    expectRefusal(await bootOutcome({ ASSETS_DIR: assets, SIGNING_KEY_PATH: link }), "SIGNING_KEY_PATH");
  });

  it("a public SIGNING_KEY_PATH inside ASSETS_DIR boots, and uploads are verified with it", async () => {
    const keys = testKeys();
    const assets = join(await caseDir(), "assets");
    await mkdir(assets);
    await writeFile(join(assets, "signing-key.pub.pem"), keys.spki);
    const server = await startServer({ ASSETS_DIR: assets, SIGNING_KEY_PATH: join(assets, "signing-key.pub.pem") });
    const res = await postAsset(server.url, v1Upload(keys.sign, "fw.bin", "firmware", freshTimestamp()));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await readFile(join(assets, "fw.bin"), "utf8")).toBe("firmware");
  });
});

describe("MQTT_USERNAME stays out of the output", () => {
  it("is never printed with LOG_LEVEL=debug; the sink's settings line shows [redacted]", async () => {
    const token = `mqtt-tok_${randomBytes(24).toString("hex")}`;
    // A broker nobody listens on: the MQTT sink is chosen (and logs its settings), notifications just queue.
    const server = await startServer({ MQTT_URL: "mqtt://127.0.0.1:1", MQTT_USERNAME: token, LOG_LEVEL: "debug" });
    const requests: Array<[string, RequestInit?]> = [
      ["/api/health"],
      ["/metrics"],
      ["/api/docs/openapi.json"],
      [
        "/api/configs/aa-bb-cc-dd-ee-01",
        { method: "PUT", headers: { "Content-Type": "application/json" }, body: '{"content":{"deviceName":"x"}}' },
      ],
      ["/api/configs/aa-bb-cc-dd-ee-01"],
      ["/api/configs/zz"],
      ["/api/assets", { method: "POST", body: v1Upload(() => "bm90IGEgc2lnbmF0dXJl", "fw.bin", "x", "now") }],
    ];
    const bodies: string[] = [];
    for (const [path, init] of requests) bodies.push(await (await fetch(`${server.url}${path}`, init)).text());
    // The failed connection attempts are logged too (with the broker's address, never the user).
    await waitUntil("a connection attempt to be logged", () => server.output().includes("MQTT connection error"));
    expect(await server.stop()).toBe(0);
    const sinkLine = server.lines().find((l) => l.msg === "notification sink");
    expect((sinkLine?.settings as Record<string, unknown> | undefined)?.MQTT_USERNAME).toBe("[redacted]");
    expect(server.output()).not.toContain(token);
    for (const body of bodies) expect(body).not.toContain(token);
  });
});

describe("upload signature settings", () => {
  it("UPLOAD_SIGNATURE_REUSE=allow boots with one warning naming it", async () => {
    const server = await startServer({ UPLOAD_SIGNATURE_REUSE: "allow" });
    const warnings = server.lines().filter((l) => String(l.msg).includes("UPLOAD_SIGNATURE_REUSE=allow"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.level).toBe("warn");
  });

  it.each<[string, string]>([
    ["UPLOAD_SIGNATURE_MIN_VERSION", "3"],
    ["UPLOAD_SIGNATURE_MIN_VERSION", "0"],
    ["UPLOAD_SIGNATURE_MIN_VERSION", "v2"],
    ["UPLOAD_SIGNATURE_REUSE", "yes"],
    ["UPLOAD_SIGNATURE_REUSE", "never"],
    ["MAX_CONCURRENT_UPLOADS", "0"],
    ["MAX_CONCURRENT_UPLOADS", "-1"],
    ["MAX_CONCURRENT_UPLOADS", "1.5"],
    ["MAX_CONCURRENT_UPLOADS", "100001"],
    ["UPLOAD_IDLE_TIMEOUT_MS", "abc"],
    ["UPLOAD_IDLE_TIMEOUT_MS", "5"],
    ["STATE_DIR", "/dev/null/x"],
  ])("%s=%s stops the boot with one line naming it", async (variable, value) => {
    expectRefusal(await bootOutcome({ [variable]: value }), variable);
  });
});

describe("two servers sharing ESP32_CONFIGS_DIR, ASSETS_DIR and STATE_DIR", () => {
  it(
    "accept each upload signature once between them, and store the file once",
    async () => {
      const keys = testKeys();
      const shared = await caseDir();
      const assets = join(shared, "assets");
      const env = {
        SIGNING_KEY: keys.pkcs8,
        ESP32_CONFIGS_DIR: join(shared, "configs"),
        ASSETS_DIR: assets,
        STATE_DIR: join(shared, "state"),
      };
      // Each gets its own DATA_DIR from spawnServer.
      const a = await startServer(env);
      const b = await startServer(env);
      expect(a.dataDir).not.toBe(b.dataDir);

      const timestamp = freshTimestamp();
      const first = await postAsset(a.url, v1Upload(keys.sign, "fw-1.0.bin", "genuine", timestamp));
      expect(first.status, await first.clone().text()).toBe(200);

      // The captured fields replayed to B: as they were, and with another file under another name.
      for (const [name, content] of [
        ["fw-1.0.bin", "genuine"],
        ["evil.bin", "malware"],
      ] as const) {
        const replay = await postAsset(b.url, v1Upload(keys.sign, name, content, timestamp));
        const body = (await replay.json()) as { error?: string; details?: { field?: string } };
        expect(replay.status, JSON.stringify(body)).toBe(400);
        expect(body.details?.field).toBe("signature");
        expect(body.error).toContain("already used");
      }
      expect((await readdir(assets)).sort()).toEqual(["fw-1.0.bin"]);
      expect(await readFile(join(assets, "fw-1.0.bin"), "utf8")).toBe("genuine");

      // A fresh signature (another timestamp) to B is accepted, and A serves what B stored.
      const fresh = await waitUntil("a new timestamp", () => {
        const now = freshTimestamp();
        return now !== timestamp ? now : undefined;
      });
      const second = await postAsset(b.url, v1Upload(keys.sign, "fw-1.1.bin", "next", fresh));
      expect(second.status, await second.clone().text()).toBe(200);
      expect((await readdir(assets)).sort()).toEqual(["fw-1.0.bin", "fw-1.1.bin"]);
      const served = await fetch(`${a.url}/files/assets/fw-1.1.bin`);
      expect(served.status).toBe(200);
      expect(await served.text()).toBe("next");
    },
    TWO_SERVERS_TEST_MS,
  );
});
