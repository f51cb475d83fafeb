/** The real Node entry point: boot, defaults, bad settings, console sink, graceful shutdown, no secrets in logs. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { testKeys } from "./support/keys.js";
import { bootFailure, type SpawnedServer, spawnServer } from "./support/server.js";
import { waitUntil } from "./support/wait.js";

describe("Node runtime", () => {
  let server: SpawnedServer | undefined;
  afterEach(async () => {
    await server?.cleanup();
    server = undefined;
  });

  it("boots on defaults: data dirs created, dev key generated and its path logged, no-op sink", async () => {
    server = await spawnServer();
    const health = await fetch(`${server.url}/api/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { notifications: { sink: string } }).notifications.sink).toBe("noop");
    expect(existsSync(join(server.dataDir, "configs"))).toBe(true);
    expect(existsSync(join(server.dataDir, "assets"))).toBe(true);
    const keyLine = server.lines().find((l) => String(l.msg).includes("development key"));
    expect(keyLine?.private_key).toBe(join(server.dataDir, "dev-signing-key.pem"));
    expect(existsSync(join(server.dataDir, "dev-signing-key.pem"))).toBe(true);
    expect(server.lines().filter((l) => String(l.msg).includes("no-op sink"))).toHaveLength(1);
  });

  it("starts with `npm start` as the README says (bundle built, then served) and stops on SIGTERM", async () => {
    server = await spawnServer({}, "dist/node.mjs", { command: "npm", args: ["start", "--silent"] });
    const health = await fetch(`${server.url}/api/health`);
    expect(health.status).toBe(200);
    expect(await server.stop("SIGTERM")).toBe(0);
    expect(server.lines().some((l) => l.msg === "notifications flushed")).toBe(true);
  });

  it.each([
    [{ PORT: "abc" }, "PORT"],
    [{ TIMESTAMP_TOLERANCE_SECONDS: "-5" }, "TIMESTAMP_TOLERANCE_SECONDS"],
    [{ MQTT_PROTOCOL_VERSION: "3" }, "MQTT_PROTOCOL_VERSION"],
    [{ CORS_ORIGINS: "[1,2]" }, "CORS_ORIGINS"],
    [{ SIGNING_KEY_PATH: "/nonexistent/key.pem" }, "SIGNING_KEY_PATH"],
    [{ SIGNING_KEY: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" }, "signing key"],
    [{ MQTT_URL: "ftp://user:hunter2@broker" }, "MQTT_URL"],
  ])("stops at boot with one line naming the problem for %j", async (env, name) => {
    const { code, output } = await bootFailure(env);
    expect(code).not.toBe(0);
    const errorLines = output.split("\n").filter((l) => l.trim() && !l.startsWith("{"));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toContain(name);
    expect(output).not.toContain("hunter2");
    expect(output).not.toMatch(/\n\s+at /);
  });

  it("lists the known schemes for an unknown MQTT_URL scheme", async () => {
    const { output } = await bootFailure({ MQTT_URL: "carrier-pigeon://coop" });
    expect(output).toContain("console:");
  });

  it("prints one JSON line per notification with MQTT_URL=console:", async () => {
    server = await spawnServer({ MQTT_URL: "console:" });
    const save = (mac: string) =>
      fetch(`${server!.url}/api/configs/${mac}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ content: { deviceName: "x" } }),
      });
    expect((await save("AA-BB-CC-DD-EE-01")).status).toBe(200);
    expect((await fetch(`${server.url}/api/configs/aa-bb-cc-dd-ee-01`, { method: "DELETE" })).status).toBe(204);
    // A sentinel save: lines arrive in order, so once its line is here a line for the delete would be too.
    expect((await save("aa-bb-cc-dd-ee-02")).status).toBe(200);
    const notes = () => server!.lines().filter((l) => l.topic !== undefined);
    await waitUntil("the sentinel's line", () => notes().length >= 2);
    const line = (filename: string) => ({
      time: expect.any(String),
      topic: "iotsupport/updates/configs",
      payload: { filename },
      metadata: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/), size: expect.any(Number), etag: expect.any(String) },
    });
    expect(notes()).toEqual([line("aa-bb-cc-dd-ee-01.json"), line("aa-bb-cc-dd-ee-02.json")]);
  });

  it.each(["SIGTERM", "SIGINT"] as const)("shuts down gracefully on %s with exit code 0", async (signal) => {
    server = await spawnServer({ MQTT_URL: "console:" });
    expect(await server.stop(signal)).toBe(0);
    expect(server.lines().some((l) => l.msg === "notifications flushed")).toBe(true);
  });

  it("keeps secrets out of logs, errors, health and metrics", async () => {
    const keys = testKeys();
    server = await spawnServer({
      SIGNING_KEY: keys.pkcs8,
      MQTT_URL: "console:",
      MQTT_USERNAME: "device-admin",
      MQTT_PASSWORD: "correct-horse-battery-staple",
      LOG_LEVEL: "debug",
    });
    const bodies = await Promise.all(
      ["/api/health", "/metrics", "/api/configs/zz", "/api/docs/openapi.json"].map(async (p) =>
        (await fetch(`${server!.url}${p}`)).text(),
      ),
    );
    await server.stop();
    const everything = server.output() + bodies.join("\n");
    expect(everything).not.toContain("correct-horse-battery-staple");
    for (const line of keys.pkcs8.split("\n").filter((l) => l.length > 20)) expect(everything).not.toContain(line);
  });
});
