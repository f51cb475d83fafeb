/** The README's commands, run as written against a real server. */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type SpawnedServer, spawnServer } from "./support/server.js";

const run = promisify(execFile);

async function readmeBlock(marker: string): Promise<string> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  // A block inside a list item is indented; its lines are taken as written, less that indent.
  const match = new RegExp(`<!-- readme-test: ${marker} -->\\n( *)\`\`\`bash\\n([\\s\\S]*?)\\1\`\`\``).exec(readme);
  if (!match?.[2]) throw new Error(`README block ${marker} not found`);
  const indent = match[1] as string;
  return match[2]
    .split("\n")
    .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
    .join("\n");
}

describe("README", () => {
  let server: SpawnedServer;
  beforeAll(async () => {
    server = await spawnServer();
  });
  afterAll(async () => {
    await server.cleanup();
  });

  /** Runs a README block as written, with SERVER and KEY pointing at the test's server. */
  const runBlock = async (marker: string, cwd: string) =>
    run("bash", ["-euo", "pipefail", "-c", await readmeBlock(marker)], {
      cwd,
      env: { ...process.env, SERVER: server.url, KEY: join(server.dataDir, "dev-signing-key.pem") },
    });

  const uploaded = async () => (await readdir(join(server.dataDir, "assets"))).sort();

  it.each(["upload", "upload-v2"])(
    "signs and uploads with openssl and curl exactly as documented (%s)",
    async (marker) => {
      await rm(join(server.dataDir, "assets", "firmware.bin"), { force: true });
      // The block runs from the directory where `npm start` ran; here DATA_DIR is that directory's data/.
      const { stdout } = await runBlock(marker, server.dataDir);
      const body = JSON.parse(stdout) as { filename: string; size: number; uploaded_at: string };
      expect(body.filename).toBe("firmware.bin");
      expect(body.size).toBe(12);
      expect(body.uploaded_at).toMatch(/\+00:00$/);
      expect(await uploaded()).toEqual(["firmware.bin"]);
      // The block cleans up after itself: nothing left where it ran.
      expect(await readdir(server.dataDir)).not.toContain("firmware.bin");
    },
  );

  it("uploads with `npx iot-upload` exactly as documented", async () => {
    await rm(join(server.dataDir, "assets", "firmware.bin"), { force: true });
    const { stdout } = await runBlock("iot-upload", ROOT);
    expect(stdout).toMatch(/^uploaded firmware\.bin \(12 bytes\) at /);
    expect(await uploaded()).toEqual(["firmware.bin"]);
  });

  it("mints a token with openssl and uses it against a server holding only its hash, as documented", async () => {
    const mint = await run("bash", [
      "-euo",
      "pipefail",
      "-c",
      `${await readmeBlock("token-mint")}\necho "TOKEN=$TOKEN"`,
    ]);
    const hash = /API_TOKEN_HASHES=([0-9a-f]{64})/.exec(mint.stdout)?.[1];
    const token = /TOKEN=(\S+)/.exec(mint.stdout.replace(/API_TOKEN_HASHES=\S+/, ""))?.[1];
    expect(hash).toBeDefined();
    expect(token).toMatch(/^iot_[A-Za-z0-9_-]{43}$/);
    const secured = await spawnServer({ API_TOKEN_HASHES: hash as string });
    try {
      const use = await run("bash", ["-euo", "pipefail", "-c", await readmeBlock("token-use")], {
        env: { ...process.env, SERVER: secured.url, TOKEN: token as string },
      });
      expect(JSON.parse(use.stdout)).toEqual({ configs: [], count: 0 });
      expect((await fetch(`${secured.url}/api/configs`)).status).toBe(401);
    } finally {
      await secured.cleanup();
    }
  });

  it("issues a device token and reads with it, as documented", async () => {
    const issue = await run("bash", ["-euo", "pipefail", "-c", await readmeBlock("device-token-issue")], {
      env: { ...process.env, SERVER: server.url },
    });
    const issued = JSON.parse(issue.stdout) as { mac_address: string; token: string };
    expect(issued.mac_address).toBe("aa-bb-cc-dd-ee-ff");
    expect(issued.token).toMatch(/^iotd_/);
    const put = await fetch(`${server.url}/api/configs/aa-bb-cc-dd-ee-ff`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ content: { deviceName: "flashed" } }),
    });
    expect(put.status).toBe(200);
    const device = await spawnServer({ DATA_DIR: server.dataDir, DEVICE_AUTH: "device" });
    try {
      const env = { ...process.env, MAC: "aa-bb-cc-dd-ee-ff", DEVICE_TOKEN: issued.token };
      // In open mode (the test's first server) and in device mode alike, the flashed device reads its config.
      for (const target of [server, device]) {
        const read = await run("bash", ["-euo", "pipefail", "-c", await readmeBlock("device-token-read")], {
          env: { ...env, SERVER: target.url },
        });
        expect(JSON.parse(read.stdout)).toEqual({ deviceName: "flashed" });
      }
      expect((await fetch(`${device.url}/files/configs/aa-bb-cc-dd-ee-ff.json`)).status).toBe(401);
    } finally {
      await device.cleanup();
    }
  });

  it("shows the fleet view as documented: a read and a report make the device current", async () => {
    const mac = "aa-bb-cc-dd-ee-ff";
    const put = await fetch(`${server.url}/api/configs/${mac}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ content: { deviceName: "in the fleet view" } }),
    });
    expect(put.status).toBe(200);
    const cwd = await mkdtemp(join(tmpdir(), "iot-readme-fleet-"));
    try {
      const { stdout } = await runBlock("fleet-view", cwd);
      // Two JSON answers, one after the other (curl adds no newline).
      const split = stdout.indexOf('{"devices":');
      const [device, behind] = [stdout.slice(0, split), stdout.slice(split)].map((text) => JSON.parse(text));
      const etag = (await fetch(`${server.url}/files/configs/${mac}.json`)).headers.get("etag");
      expect(device).toMatchObject({ mac_address: mac, config_etag: etag, applied_etag: etag, sync: "current" });
      expect(device.firmware_version).toBe("1.4.2");
      expect(behind.devices.every((d: { sync: string }) => d.sync === "behind")).toBe(true);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });

  it("keeps the version in step with package.json", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string };
    const { VERSION } = await import("../src/version.js");
    expect(VERSION).toBe(pkg.version);
  });
});
