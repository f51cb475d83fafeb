/**
 * The README's "admin UI with authentication on" recipe, run: its two blocks as written
 * (a person's htpasswd line, the admin token's include file), then real nginx with
 * deploy/nginx/iot-support-auth.conf in front of a real server with API_TOKEN_HASHES and
 * DEVICE_TOKEN_HASHES set. Between nginx and the server a relay records every byte the
 * server received, so "the server never sees the person's password" is checked on the wire.
 * The admin UI is a placeholder page (the real one lives in another repository).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectErrorShape } from "./support/http.js";
import { freePort, nginxAvailable, type RunningNginx, startNginx } from "./support/nginx.js";
import { exchange } from "./support/raw-http.js";
import { type RecordingRelay, startRecordingRelay } from "./support/recording-relay.js";
import { ROOT, type SpawnedServer, spawnServer } from "./support/server.js";

const PASSWORD = "correct horse battery staple";
const BASIC = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString("base64")}`;
const DEVICE_TOKEN = "iot_device-token-for-the-proxy-test-0123456789";
const MAC = "AA-BB-CC-DD-EE-21";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

async function readmeBlock(marker: string): Promise<string> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const block = new RegExp(`<!-- readme-test: ${marker} -->\\n\`\`\`bash\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];
  if (!block) throw new Error(`README block ${marker} not found`);
  return block;
}

/** Runs a README block with bash, as written, with `input` on its stdin. */
function runBlock(marker: string, env: Record<string, string>, input = ""): Promise<string> {
  return readmeBlock(marker).then(
    (script) =>
      new Promise((resolve, reject) => {
        const child = execFile(
          "bash",
          ["-euo", "pipefail", "-c", script],
          { env: { ...process.env, ...env } },
          (error, stdout, stderr) => (error ? reject(new Error(`${marker}: ${stderr}`)) : resolve(stdout)),
        );
        child.stdin?.end(input);
      }),
  );
}

/** The README's blocks run as root (they hand files to nginx's group); CI runs as root. */
function runsAsRoot(): boolean {
  if (process.getuid?.() === 0) return true;
  console.warn("\n*** SKIPPING nginx auth proxy tests: they run the README's root-only blocks ***\n");
  return false;
}

/** The shipped configuration with only its port, upstream address and paths made the test's. */
async function configuration(dir: string, port: number, upstreamPort: number): Promise<string> {
  let text = await readFile(join(ROOT, "deploy/nginx/iot-support-auth.conf"), "utf8");
  const replacements: Array<[string, string]> = [
    ["listen 8080;", `listen 127.0.0.1:${port};`],
    ["server 127.0.0.1:3201;", `server 127.0.0.1:${upstreamPort};`],
    ["/etc/nginx/iot-support/", `${join(dir, "conf")}/`],
    ["/var/www/iot-admin-ui", join(dir, "ui")],
    ["/var/log/nginx/", `${join(dir, "nginx")}/`],
  ];
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`deploy/nginx/iot-support-auth.conf no longer has "${from}"`);
    text = text.replaceAll(from, to);
  }
  return text;
}

describe.runIf(runsAsRoot() && nginxAvailable())("nginx auth proxy in front of the admin UI and API", () => {
  let dir: string;
  let server: SpawnedServer;
  let relay: RecordingRelay;
  let nginx: RunningNginx;
  let proxy: string;
  let token: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "iot-auth-proxy-"));
    // nginx's workers (www-data) read the UI and the htpasswd file below it, as under /etc and /var/www.
    await chmod(dir, 0o755);
    const conf = join(dir, "conf");
    await runBlock("auth-proxy-person", { CONF: conf }, `${PASSWORD}\n`);
    const printed = await runBlock("auth-proxy-token", { CONF: conf });
    const hash = /^API_TOKEN_HASHES=([0-9a-f]{64})$/m.exec(printed)?.[1];
    if (!hash) throw new Error(`the token block printed no hash: ${printed}`);
    token = /Bearer (iot_[\w-]+)/.exec(await readFile(join(conf, "admin-token.conf"), "utf8"))?.[1] as string;
    expect(sha256(token)).toBe(hash);
    await mkdir(join(dir, "ui"), { mode: 0o755 });
    await writeFile(join(dir, "ui", "index.html"), "<title>admin UI placeholder</title>\n", { mode: 0o644 });

    server = await spawnServer({ API_TOKEN_HASHES: hash, DEVICE_TOKEN_HASHES: sha256(DEVICE_TOKEN) });
    relay = await startRecordingRelay(Number(new URL(server.url).port));
    const port = await freePort();
    nginx = await startNginx(dir, await configuration(dir, port, relay.port), port);
    proxy = `http://127.0.0.1:${port}`;
  }, 120_000);

  afterAll(async () => {
    await nginx?.stop();
    await relay?.close();
    await server?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  const put = (headers: Record<string, string>) =>
    fetch(`${proxy}/api/configs/${MAC}`, {
      method: "PUT",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ content: { deviceName: "Proxy test" } }),
    });

  it("answers 401 itself, without a password or with a wrong one, and the server sees nothing", async () => {
    relay.clear();
    for (const headers of [
      {} as Record<string, string>,
      { authorization: `Basic ${Buffer.from("alice:wrong").toString("base64")}` },
    ]) {
      for (const path of ["/", "/api/configs"]) {
        const res = await fetch(`${proxy}${path}`, { headers });
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe('Basic realm="IoT Support admin"');
      }
    }
    expect(relay.received()).toBe("");
  });

  it("serves the admin UI to a person who logged in", async () => {
    const res = await fetch(`${proxy}/rollouts/some-client-route`, { headers: { authorization: BASIC } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("admin UI placeholder");
  });

  it("lets a person PUT and GET configs through it, with the proxy's token and never their password", async () => {
    // The server does refuse anonymous admin requests: the proxy's token is what lets them in.
    expect((await fetch(`${server.url}/api/configs`)).status).toBe(401);
    relay.clear();
    expect((await put({ authorization: BASIC })).status).toBe(200);
    const res = await fetch(`${proxy}/api/configs`, { headers: { authorization: BASIC } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ count: 1, configs: [{ mac_address: MAC.toLowerCase() }] });
    const seen = relay.received();
    expect(seen.match(/^authorization: .*$/gim)).toEqual([
      `Authorization: Bearer ${token}`,
      `Authorization: Bearer ${token}`,
    ]);
    expect(seen).not.toContain(BASIC.slice("Basic ".length));
    expect(seen).not.toContain(PASSWORD);
  });

  it("sends the proxy's token, not a forged one, and refuses a request carrying both", async () => {
    // A bearer token instead of the password is no login: nginx refuses it and the server sees nothing.
    relay.clear();
    expect((await put({ authorization: "Bearer iot_forged" })).status).toBe(401);
    expect(relay.received()).toBe("");
    // The password and a forged token in a second header: nginx refuses duplicate Authorization lines.
    const port = Number(new URL(proxy).port);
    const answer = await exchange(
      port,
      `GET /api/configs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${BASIC}\r\nAuthorization: Bearer iot_forged\r\nConnection: close\r\n\r\n`,
    );
    expect(answer.toString("latin1")).toMatch(/^HTTP\/1\.1 400 /);
    expect(relay.received()).toBe("");
  });

  it("passes /files/ to the server without a password, with the device's own token and no Basic credentials", async () => {
    relay.clear();
    const device = await fetch(`${proxy}/files/configs/${MAC}.json`, {
      headers: { authorization: `Bearer ${DEVICE_TOKEN}` },
    });
    expect(device.status).toBe(200);
    expect(await device.json()).toEqual({ deviceName: "Proxy test" });
    expect(relay.received()).toContain(`Authorization: Bearer ${DEVICE_TOKEN}\r\n`);
    // A browser that logged in sends its Basic credentials here too: dropped, so the server refuses it.
    relay.clear();
    const browser = await fetch(`${proxy}/files/configs/${MAC}.json`, { headers: { authorization: BASIC } });
    expectErrorShape(await browser.json(), 401, "UNAUTHORIZED");
    expect(relay.received()).toContain(`GET /files/configs/${MAC}.json`);
    expect(relay.received()).not.toMatch(/^authorization:/im);
  });

  it("logs neither the password nor either token", async () => {
    const logs = [
      await readFile(join(dir, "nginx", "iot-support-auth.log"), "utf8"),
      await readFile(join(dir, "nginx", "iot-support-auth.error.log"), "utf8"),
    ].join("\n");
    expect(logs).toContain("GET /api/configs");
    for (const secret of [PASSWORD, BASIC.slice("Basic ".length), token, DEVICE_TOKEN]) {
      expect(logs).not.toContain(secret);
    }
  });
});
