/**
 * Secrets scan: every log line, /metrics and /api/health — through good, failing and
 * reconnecting paths — searched for the broker password and the key material.
 */
import { describe, expect, it, onTestFinished } from "vitest";
import { testKeys } from "../support/keys.js";
import { mosquittoAvailable, startBroker } from "../support/mosquitto.js";
import { freshTimestamp } from "../support/upload-stream.js";
import { health, startBundled, waitUntil } from "./support.js";

const available = mosquittoAvailable();
const PASSWORD = "Tr0ub4dor&3-horse:battery@staple";
const WRONG = "wrong-Pa55word-do-not-print";

describe.skipIf(!available)("fault suite: secrets", () => {
  it("never prints the broker password or key material, whatever happens", async () => {
    const keys = testKeys();
    const broker = await startBroker({ users: { fleet: PASSWORD } });
    onTestFinished(() => broker.cleanup());
    // Each server's folder is removed once the test is over, whatever happens before that.
    const start = async (env: Record<string, string>) => {
      const server = await startBundled(env);
      onTestFinished(() => server.cleanup());
      return server;
    };
    const inUrl = new URL(broker.wsUrl);
    inUrl.username = "fleet";
    inUrl.password = encodeURIComponent(PASSWORD);
    const servers = [
      await start({
        MQTT_URL: inUrl.href,
        SIGNING_KEY: keys.pkcs8,
        LOG_LEVEL: "debug",
        MQTT_FLUSH_TIMEOUT_MS: "500",
        // Device tokens are secrets too: issued, used, mistyped and revoked below.
        DEVICE_AUTH: "device",
      }),
      await start({
        MQTT_URL: broker.tcpUrl,
        MQTT_USERNAME: "fleet",
        MQTT_PASSWORD: PASSWORD,
        SIGNING_KEY: keys.pkcs1,
        LOG_LEVEL: "debug",
        MQTT_FLUSH_TIMEOUT_MS: "500",
      }),
      await start({
        MQTT_URL: broker.tcpUrl,
        MQTT_USERNAME: "fleet",
        MQTT_PASSWORD: WRONG,
        LOG_LEVEL: "debug",
        MQTT_FLUSH_TIMEOUT_MS: "500",
      }),
    ];
    const bodies: string[] = [];
    const deviceTokens: string[] = [];
    try {
      await waitUntil(
        "both good servers to connect",
        async () => (await health(servers[0]!)).notifications.ready && (await health(servers[1]!)).notifications.ready,
      );
      const exercise = async () => {
        for (const server of servers) {
          await fetch(`${server.url}/api/configs/aa-bb-cc-dd-ee-ff`, {
            method: "PUT",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ content: { deviceName: "x" } }),
          });
          await fetch(`${server.url}/api/configs/bad`, { method: "PUT", body: "{" });
          const form = new FormData();
          form.set("timestamp", freshTimestamp());
          form.set("signature", "AAAA");
          form.set("file", new Blob(["x"]), "fw.bin");
          await fetch(`${server.url}/api/assets`, { method: "POST", body: form });
          const issued = await fetch(`${server.url}/api/devices/aa-bb-cc-dd-ee-ff/token`, { method: "POST" });
          if (issued.status === 201) {
            const { token } = (await issued.json()) as { token: string };
            deviceTokens.push(token);
            for (const presented of [token, `${token}x`, token.slice(0, -4)]) {
              const read = await fetch(`${server.url}/files/configs/aa-bb-cc-dd-ee-ff.json?v=1`, {
                headers: { Authorization: `Bearer ${presented}` },
              });
              bodies.push(await read.text());
            }
            bodies.push(await (await fetch(`${server.url}/files/configs/x.json?access_token=${token}`)).text());
          }
          for (const path of ["/api/health", "/metrics", "/api/docs/openapi.json", "/nowhere"]) {
            bodies.push(await (await fetch(`${server.url}${path}`)).text());
          }
        }
      };
      await exercise();
      await broker.stop("SIGKILL");
      await waitUntil("the servers to notice", async () => !(await health(servers[0]!)).notifications.ready);
      await exercise();
      await broker.start();
      await waitUntil("reconnect", async () => (await health(servers[0]!)).notifications.ready, 15_000);
      await exercise();
    } finally {
      // SIGTERM, so the shutdown lines are scanned too.
      for (const server of servers) await server.stop("SIGTERM");
    }
    const everything = [...servers.map((s) => s.output()), ...bodies].join("\n");
    const keyLines = [keys.pkcs8, keys.pkcs1].flatMap((pem) =>
      pem.split("\n").filter((l) => l.length > 16 && !l.startsWith("-----")),
    );
    expect(deviceTokens.length).toBeGreaterThan(0);
    const leaks = [PASSWORD, encodeURIComponent(PASSWORD), WRONG, ...keyLines, ...deviceTokens].filter((secret) =>
      everything.includes(secret),
    );
    console.log(
      `secrets scan: ${everything.split("\n").length} lines of logs and bodies scanned, ${leaks.length} secrets found`,
    );
    expect(leaks).toEqual([]);
    // The scan saw the interesting paths: a refused login and a restored connection.
    expect(everything).toContain("MQTT broker refused the credentials");
    expect(everything).toContain("MQTT connection restored");
  });
});
