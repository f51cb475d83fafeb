/**
 * iot-device end to end: the command run as a user runs it (`node bin/iot-device.mjs`, a
 * child process with a clean environment) against a real spawned server in DEVICE_AUTH=device
 * with admin tokens (API_TOKEN_HASHES); what it prints is then used as a device would use it,
 * reading /files/configs/<mac>.json with each token. Against a server that misbehaves on
 * purpose: test/cli-device-hostile.test.ts.
 */
import { access, constants, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newToken, tokenHash } from "../src/cli/token.js";
import { DEVICE_BIN as BIN, runDevice as device } from "./support/cli-run.js";
import { hostileServer, sendJson } from "./support/hostile-server.js";
import { freePort } from "./support/mosquitto.js";
import { ROOT, type SpawnedServer, spawnServer } from "./support/server.js";

/** A deadline for one test of a few CLI runs on a loaded machine, not an expectation of speed. */
const CLI_TEST_MS = 120_000;
const DEVICE_TOKEN = /^iotd_[A-Za-z0-9_-]{43}$/m;

/** The token in a human-readable answer: the line that is nothing but the token. */
const tokenIn = (stdout: string) => DEVICE_TOKEN.exec(stdout)?.[0] as string;

describe("iot-device", () => {
  const admin = newToken();
  const wrongAdmin = newToken();
  const MAC = "aa-bb-cc-dd-ee-01";
  const OTHER = "aa-bb-cc-dd-ee-02";
  let server: SpawnedServer;
  let dir: string;
  let tokenFile: string;
  /** --server and the admin token from the environment, as a script would run it. */
  const asAdmin = (...args: string[]) => device([...args, "--server", server.url], { IOT_ADMIN_TOKEN: admin });
  const readConfig = (mac: string, token?: string) =>
    fetch(`${server.url}/files/configs/${mac}.json`, token ? { headers: { Authorization: `Bearer ${token}` } } : {});

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "iot-device-test-"));
    tokenFile = join(dir, "admin-token");
    // Readable by the owner only, as a secret should be (others get a warning on stderr).
    await writeFile(tokenFile, `${admin}\n`, { mode: 0o600 });
    server = await spawnServer({ DEVICE_AUTH: "device", API_TOKEN_HASHES: tokenHash(admin) });
    for (const mac of [MAC, OTHER]) {
      const saved = await fetch(`${server.url}/api/configs/${mac}`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${admin}`, "Content-Type": "application/json" },
        body: JSON.stringify({ content: { deviceName: mac, wifiPassword: `secret of ${mac}` } }),
      });
      expect(saved.status).toBe(200);
    }
  });
  afterAll(async () => {
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    "issues a token, printed once on stdout with how the device sends it, that reads that device's config only",
    async () => {
      const run = await asAdmin("token", MAC.toUpperCase());
      expect(run).toMatchObject({ code: 0, stderr: "" });
      const token = tokenIn(run.stdout);
      expect(token).toMatch(DEVICE_TOKEN);
      expect(run.stdout.split(token)).toHaveLength(2);
      expect(run.stdout).toContain(`token for ${MAC}, issued `);
      expect(run.stdout).toContain(`"Authorization: Bearer <token>" when it reads /files/configs/${MAC}.json`);

      const own = await readConfig(MAC, token);
      expect(own.status).toBe(200);
      expect((await own.json()).wifiPassword).toBe(`secret of ${MAC}`);
      expect((await readConfig(OTHER, token)).status).toBe(404);
      expect((await readConfig(MAC)).status).toBe(401);
      // The admin token is no device token, and neither secret is in the server's log.
      expect((await readConfig(MAC, admin)).status).toBe(401);
      expect(server.output()).not.toContain(token);
      expect(server.output()).not.toContain(admin);
    },
    CLI_TEST_MS,
  );

  it(
    "rotates: issued again, both tokens read until the new one is used once, then only the new one",
    async () => {
      const first = tokenIn((await asAdmin("token", OTHER)).stdout);
      expect((await readConfig(OTHER, first)).status).toBe(200);
      // The admin token from a file this time.
      const again = await device(["token", OTHER, "--server", server.url, "--admin-token-file", tokenFile]);
      expect(again).toMatchObject({ code: 0, stderr: "" });
      const second = tokenIn(again.stdout);
      expect(second).not.toBe(first);

      expect((await readConfig(OTHER, first)).status).toBe(200);
      expect((await readConfig(OTHER, first)).status).toBe(200);
      expect((await readConfig(OTHER, second)).status).toBe(200);
      expect((await readConfig(OTHER, first)).status).toBe(401);
      expect((await readConfig(OTHER, second)).status).toBe(200);
    },
    CLI_TEST_MS,
  );

  it(
    "revokes every token of the device, which then reads nothing",
    async () => {
      const token = tokenIn((await asAdmin("token", MAC)).stdout);
      expect((await readConfig(MAC, token)).status).toBe(200);
      const run = await asAdmin("revoke", MAC);
      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(new RegExp(`^revoked every token of ${MAC}: `));
      expect((await readConfig(MAC, token)).status).toBe(401);
    },
    CLI_TEST_MS,
  );

  it(
    "prints one JSON object on stdout with --json, for issuing and for revoking",
    async () => {
      const issued = await asAdmin("token", MAC, "--json");
      expect(issued).toMatchObject({ code: 0, stderr: "" });
      expect(issued.stdout.trimEnd().split("\n")).toHaveLength(1);
      const answer = JSON.parse(issued.stdout) as Record<string, string>;
      expect(Object.keys(answer).sort()).toEqual(["issued_at", "mac_address", "token"]);
      expect(answer.mac_address).toBe(MAC);
      expect(answer.token).toMatch(DEVICE_TOKEN);
      expect(Date.parse(answer.issued_at as string)).not.toBeNaN();
      expect((await readConfig(MAC, answer.token)).status).toBe(200);

      const revoked = await asAdmin("revoke", MAC, "--json");
      expect(revoked).toMatchObject({ code: 0, stderr: "" });
      expect(JSON.parse(revoked.stdout)).toEqual({ mac_address: MAC, revoked: true });
      expect((await readConfig(MAC, answer.token)).status).toBe(401);
    },
    CLI_TEST_MS,
  );

  it(
    "refuses a bad MAC with exit status 2 and the usage text, suggesting the dashed form, before any request",
    async () => {
      const listener = await hostileServer((socket) => sendJson(socket, "204 No Content", {}));
      try {
        const colons = await device(["token", "AA:BB:CC:DD:EE:01", "--server", listener.url]);
        expect(colons.code).toBe(2);
        expect(colons.stdout).toBe("");
        expect(colons.stderr).toContain(
          'iot-device: "AA:BB:CC:DD:EE:01" is not a MAC address as the server writes them: six hex pairs separated by dashes; did you mean aa-bb-cc-dd-ee-01?',
        );
        expect(colons.stderr).toContain("Usage: iot-device token <mac>");
        const garbage = await device(["revoke", "kitchen", "--server", listener.url]);
        expect(garbage.code).toBe(2);
        expect(garbage.stderr).toContain('"kitchen" is not a MAC address');
        expect(listener.requests).toEqual([]);
      } finally {
        await listener.close();
      }
    },
    CLI_TEST_MS,
  );

  it(
    "says when nothing listens at --server, with exit status 3",
    async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      const run = await device(["token", MAC], { IOT_SERVER_URL: url, IOT_ADMIN_TOKEN: admin });
      expect(run.code).toBe(3);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain(`could not reach the server: nothing is listening at ${new URL(url).host}`);
      expect(run.stderr).not.toContain(admin);
    },
    CLI_TEST_MS,
  );

  it(
    "answers a 401 without an admin token and with a wrong one (exit status 1), saying what to do, printing no token",
    async () => {
      const without = await device(["token", MAC, "--server", server.url]);
      expect(without.code).toBe(1);
      expect(without.stdout).toBe("");
      expect(without.stderr).toContain("iot-device: the server refused the token request (401 UNAUTHORIZED)");
      expect(without.stderr).toContain(
        "the server needs an admin token: set IOT_ADMIN_TOKEN or pass --admin-token-file",
      );
      expect(without.stderr).toMatch(/correlation id: [\w-]{8,}/);

      const wrong = await device(["revoke", MAC, "--server", server.url], { IOT_ADMIN_TOKEN: wrongAdmin });
      expect(wrong.code).toBe(1);
      expect(wrong.stdout).toBe("");
      expect(wrong.stderr).toContain("iot-device: the server refused the revocation (401 UNAUTHORIZED)");
      expect(wrong.stderr).toContain("the server does not accept this admin token");
      expect(wrong.stderr).not.toContain(wrongAdmin);
      expect(server.output()).not.toContain(wrongAdmin);
    },
    CLI_TEST_MS,
  );

  it(
    "never takes the admin token from the command line, and never repeats one given there",
    async () => {
      for (const args of [
        ["token", MAC, `--admin-token=${wrongAdmin}`],
        ["token", MAC, "--admin-token", wrongAdmin],
        ["token", MAC, wrongAdmin],
      ]) {
        const run = await device([...args, "--server", server.url]);
        expect(run.code).toBe(2);
        expect(run.stdout).toBe("");
        expect(run.stderr).not.toContain(wrongAdmin);
      }
      const flag = await device(["token", MAC, "--admin-token", wrongAdmin, "--server", server.url]);
      expect(flag.stderr).toContain(
        "the admin token is never taken from the command line, where every user of this machine can see it (ps)",
      );
    },
    CLI_TEST_MS,
  );

  it(
    "checks the admin token file: missing or empty is exit status 2 without a request; open to others, a warning",
    async () => {
      const missing = await device(["token", MAC, "--server", server.url, "--admin-token-file", join(dir, "nope")]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`cannot read the admin token file ${join(dir, "nope")}: no such file`);
      const empty = join(dir, "empty");
      await writeFile(empty, "\n", { mode: 0o600 });
      const blank = await device(["token", MAC, "--server", server.url, "--admin-token-file", empty]);
      expect(blank.code).toBe(2);
      expect(blank.stderr).toContain(`the admin token file ${empty} is empty`);
      const twoWords = join(dir, "two-words");
      await writeFile(twoWords, `${admin} ${admin}\n`, { mode: 0o600 });
      const garbled = await device(["token", MAC, "--server", server.url, "--admin-token-file", twoWords]);
      expect(garbled.code).toBe(2);
      expect(garbled.stderr).toContain(`the admin token file ${twoWords} does not hold an admin token`);
      expect(garbled.stderr).not.toContain(admin);

      const open = join(dir, "open-token");
      await writeFile(open, admin, { mode: 0o644 });
      const warned = await device(["revoke", MAC, "--server", server.url, "--admin-token-file", open]);
      expect(warned.code).toBe(0);
      expect(warned.stderr).toContain(
        `iot-device: warning: the admin token file ${open} is open to every user of this machine (permissions 0644); whoever can read it can administer the server. Restrict it: chmod 600 ${open}`,
      );
    },
    CLI_TEST_MS,
  );

  it("prints its usage with --help, with the exit statuses, and is package.json's iot-device", async () => {
    const help = await device(["--help"]);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toContain("Usage: iot-device token <mac>");
    expect(help.stdout).toMatch(/Exit status[^\n]*\n {2}0 {2}done\n {2}1 .*\n {2}2 .*\n {2}3 /);
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string> };
    expect(pkg.bin["iot-device"]).toBe("bin/iot-device.mjs");
    await access(BIN, constants.X_OK);
    expect(await readFile(BIN, "utf8")).toMatch(/^#!\/usr\/bin\/env node\n/);
  });
});
