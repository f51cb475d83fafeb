/**
 * What every non-Node runtime's entry point must show as a real process started by
 * its npm script: the HTTP contract with MQTT over WebSocket to a private broker,
 * a graceful exit 0 on SIGTERM/SIGINT after flushing notifications, and a one-line,
 * non-zero boot failure on an invalid setting, and hostile entries in the data directories
 * answered alike by every route. Called in one line per runtime.
 */
import { execFileSync } from "node:child_process";
import { lstat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { httpContractInModes } from "./auth-modes.js";
import { CONTRACT_MAX_UPLOAD_BYTES } from "./contract.js";
import { testKeys } from "./keys.js";
import { type Broker, mosquittoAvailable, startBroker } from "./mosquitto.js";
import { bootFailure, npmScript, runtimeAvailable, type SpawnedServer, spawnServer } from "./server.js";

export function runtimeSuite(runtime: "deno" | "bun"): void {
  const script = `start:${runtime}`;
  if (!runtimeAvailable(runtime)) {
    // runtimeAvailable has printed the reason; under CI it throws instead of coming here.
    it.skip(`${runtime} runtime tests SKIPPED: the ${runtime} binary from npm cannot start on this machine`);
    return;
  }
  const command = npmScript(script);

  const withBroker = mosquittoAvailable();
  let broker: Broker | undefined;
  beforeAll(async () => {
    if (withBroker) broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.cleanup();
  });

  httpContractInModes(`${runtime} server process (npm run ${script}), MQTT over ws`, async (authEnv) => {
    const keys = testKeys();
    const server = await spawnServer(
      {
        ...authEnv,
        MAX_UPLOAD_BYTES: String(CONTRACT_MAX_UPLOAD_BYTES),
        SIGNING_KEY: keys.pkcs1,
        ...(broker ? { MQTT_URL: broker.wsUrl } : {}),
      },
      undefined,
      command,
    );
    return {
      fetch: (path, init) => fetch(`${server.url}${path}`, init),
      sign: keys.sign,
      brokerWsUrl: broker?.wsUrl,
      close: server.cleanup,
    };
  });

  describe(`${runtime} runtime lifecycle`, () => {
    let server: SpawnedServer | undefined;
    afterEach(async () => {
      await server?.cleanup();
      server = undefined;
    });

    it.each(["SIGTERM", "SIGINT"] as const)("logs the real port for PORT=0 and exits 0 on %s", async (signal) => {
      server = await spawnServer({ MQTT_URL: "console:" }, undefined, command);
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
      expect(server.lines().find((l) => l.msg === "starting")?.runtime).toBe(runtime);
      const saved = await fetch(`${server.url}/api/configs/aa-bb-cc-dd-ee-01`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ content: { deviceName: "shutdown" } }),
      });
      expect(saved.status).toBe(200);
      expect(await server.stop(signal)).toBe(0);
      const lines = server.lines();
      expect(lines.find((l) => l.msg === "shutting down")?.signal).toBe(signal);
      expect(lines.find((l) => l.msg === "notifications flushed")).toMatchObject({ abandoned: 0 });
      expect(lines.some((l) => l.topic === "iotsupport/updates/configs")).toBe(true);
    });

    it("serves regular files only: a link out of the directory and a FIFO are 404 at once", async () => {
      server = await spawnServer({}, undefined, command);
      const assets = join(server.dataDir, "assets");
      await writeFile(join(server.dataDir, "secret.pem"), "-----BEGIN PRIVATE KEY-----");
      await symlink("../secret.pem", join(assets, "key.bin"));
      execFileSync("mkfifo", [join(assets, "pipe.bin")]);
      await writeFile(join(assets, "fw.bin"), "firmware");
      await symlink("fw.bin", join(assets, "latest.bin"));
      const status = async (name: string) => {
        const res = await fetch(`${server?.url}/files/assets/${name}`);
        await res.arrayBuffer();
        return res.status;
      };
      expect(await Promise.all(["key.bin", "pipe.bin", "pipe.bin", "latest.bin"].map(status))).toEqual([
        404, 404, 404, 200,
      ]);
    });

    it("gives every route the reads' answer for such entries: PUT replaces them, DELETE leaves them (404), the listing agrees", async () => {
      server = await spawnServer({}, undefined, command);
      const configs = join(server.dataDir, "configs");
      const [out, pipe, inside] = ["aa-bb-cc-dd-ee-01", "aa-bb-cc-dd-ee-02", "aa-bb-cc-dd-ee-03"];
      await writeFile(join(server.dataDir, "elsewhere.json"), "{}");
      await symlink("../elsewhere.json", join(configs, `${out}.json`));
      execFileSync("mkfifo", [join(configs, `${pipe}.json`)]);
      await writeFile(join(configs, "shared.txt"), '{"deviceName":"shared"}');
      await symlink("shared.txt", join(configs, `${inside}.json`));
      const url = (mac: string) => `${server?.url}/api/configs/${mac}`;
      const createOnly = { content: { deviceName: "new" }, allow_overwrite: false };
      const put = (mac: string) =>
        fetch(url(mac), {
          method: "PUT",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(createOnly),
        });
      expect((await fetch(url(out), { method: "DELETE" })).status).toBe(404);
      expect((await lstat(join(configs, `${out}.json`))).isSymbolicLink()).toBe(true);
      expect((await put(pipe)).status).toBe(200);
      expect((await lstat(join(configs, `${pipe}.json`))).isFile()).toBe(true);
      expect((await put(inside)).status).toBe(409);
      const listing = (await (await fetch(`${server.url}/api/configs`)).json()) as {
        configs: Array<{ mac_address: string }>;
      };
      expect(listing.configs.map((c) => c.mac_address)).toEqual([pipe, inside]);
    });

    it("stops at boot with one line naming PORT for PORT=abc, exit code non-zero", async () => {
      const { code, output } = await bootFailure({ PORT: "abc" }, command);
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      const errorLines = output.split("\n").filter((l) => l.trim() && !l.startsWith("{"));
      expect(errorLines).toHaveLength(1);
      expect(errorLines[0]).toContain("PORT");
      expect(output).not.toMatch(/\n\s+at /);
    });
  });
}
