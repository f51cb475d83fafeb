/**
 * Status reports over MQTT (SPEC "Devices", MQTT_STATUS_TOPICS=true) on the Node server in
 * this process, against a real Mosquitto over TCP and WebSockets: a device's report is
 * recorded within 2 s; malformed ones are counted, logged once per device and minute, never
 * recorded, and the sink keeps publishing; the subscription comes back after a broker restart;
 * a retained message is not taken for a new report. The server records through its fleet
 * records (src/features/fleet/fleet-records.ts), as PUT /files/status does.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Booted, boot, drainNotifications } from "../src/runtimes/boot.js";
import { metricValue } from "./support/http.js";
import { type Broker, mosquittoAvailable, startBroker, subscribe } from "./support/mosquitto.js";
import { ROOT } from "./support/server.js";
import { connectDevice, recordedReports } from "./support/status-reports.js";
import { waitUntil } from "./support/wait.js";

const available = mosquittoAvailable();
const run = promisify(execFile);
const A = "a0-00-00-00-00-0a";
const B = "b0-00-00-00-00-0b";
const SENTINEL = "5e-00-00-00-00-01";
/** SPEC: a valid report is recorded within 2 s (counted from the broker's PUBACK to the device). */
const RECORDED_WITHIN_MS = 2000;

let dir: string;
const servers: Booted[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "iot-mqtt-status-"));
});
afterEach(async () => {
  for (const server of servers.splice(0)) await drainNotifications(server);
  await rm(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string>) {
  const lines: Array<Record<string, unknown>> = [];
  const server = await boot({
    env: { DATA_DIR: join(dir, "data"), MQTT_STATUS_TOPICS: "true", ...env },
    runtime: "node",
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  servers.push(server);
  const subscribed = () => lines.filter((l) => l.msg === "subscribed to device status reports").length;
  await waitUntil("the status topics subscribed", () => subscribed() >= 1);
  return {
    server,
    lines,
    subscribed,
    records: () => recordedReports(join(dir, "data", "state")),
    counted: async (state: string) =>
      metricValue(await server.metrics.registry.metrics(), "iot_device_status_reports_total", { state }),
  };
}

const save = (server: Booted, mac: string) =>
  server.app.request(`/api/configs/${mac}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json", Host: "127.0.0.1" },
    body: JSON.stringify({ content: { deviceName: mac } }),
  });

describe.skipIf(!available)("status reports over MQTT, Node in process", () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.cleanup();
  });

  it("a graceful shutdown writes every report it took off the broker before it lets the storage go", async () => {
    const t = await start({ MQTT_URL: broker.tcpUrl });
    const device = await connectDevice(broker.tcpUrl);
    try {
      const hex = (n: number) => n.toString(16).padStart(2, "0");
      // Published without waiting for each PUBACK: many are still on their way when the shutdown starts.
      const sent = Array.from({ length: 400 }, (_, i) =>
        device.report(`c0-00-00-00-${hex(i >> 8)}-${hex(i & 255)}`, JSON.stringify({ state: "ok" })),
      );
      await waitUntil("some reports taken in", async () => (await t.counted("ok")) >= 50);
      servers.splice(servers.indexOf(t.server), 1);
      await drainNotifications(t.server);
      const taken = await t.counted("ok");
      // Every report the server counted (and whose PUBACK it sent) is on disk when the shutdown is done.
      expect(new Set((await t.records()).map((r) => r.mac)).size).toBe(taken);
      await Promise.allSettled(sent);
    } finally {
      await device.close();
    }
  });

  it.each([
    ["tcp", 5],
    ["ws", 5],
    ["tcp", 4],
  ] as const)(
    "over %s, MQTT %i: valid reports recorded within 2 s; malformed ones counted, logged once, not recorded",
    async (transport, version) => {
      const url = transport === "tcp" ? broker.tcpUrl : broker.wsUrl;
      const t = await start({ MQTT_URL: url, MQTT_PROTOCOL_VERSION: String(version) });
      const device = await connectDevice(url, { protocolVersion: version });
      const updates = await subscribe(url, ["iotsupport/updates/configs"]);
      try {
        await device.report(
          A,
          JSON.stringify({ state: "ok", config_etag: "abc", firmware_version: "2.1.0", later: 1 }),
        );
        const [first] = await waitUntil(
          "the report recorded",
          async () => {
            const found = await t.records();
            return found.length > 0 ? found : undefined;
          },
          RECORDED_WITHIN_MS,
        );
        expect(first).toMatchObject({
          mac: A,
          report: { state: "ok", config_etag: '"abc"', firmware_version: "2.1.0" },
        });
        expect(first?.report).not.toHaveProperty("later");

        // Malformed, from A three times and from a topic that is no MAC; then a sentinel from another device.
        const hostile = "\u001b[2Jsecret-looking-payload";
        await device.report(A, `{"state": "ok", ${hostile}`);
        await device.report(A, JSON.stringify({ state: "ok", message: "m".repeat(5000) }));
        await device.report(A, JSON.stringify({ state: "ok", firmware_version: 12 }));
        await device.report("a0-00-00-00-00", JSON.stringify({ state: "ok" }));
        await device.report("not-a-mac", JSON.stringify({ state: "ok" }));
        await device.report(SENTINEL, JSON.stringify({ state: "updating" }));
        await waitUntil("the sentinel recorded", async () => (await t.records()).some((r) => r.mac === SENTINEL));
        // Received in order on one subscription, so the four refused ones were handled before the sentinel.
        expect((await t.records()).map((r) => r.mac)).toEqual([A, SENTINEL]);
        expect(await t.counted("invalid")).toBe(5);
        expect(await t.counted("ok")).toBe(1);
        expect(await t.counted("updating")).toBe(1);
        const refused = t.lines.filter((l) => l.msg === "refused a device's status message");
        expect(refused).toEqual([
          expect.objectContaining({ level: "warn", via: "mqtt", mac: A, field: "body" }),
          expect.objectContaining({ level: "warn", via: "mqtt", field: "topic", device_length: 14 }),
        ]);
        expect(JSON.stringify(t.lines)).not.toContain("secret-looking-payload");
        expect(JSON.stringify(t.lines)).not.toContain("not-a-mac");

        // The sink still publishes, on the same connection.
        expect((await save(t.server, B)).status).toBe(200);
        await updates.waitFor(1);
        expect(updates.messages.map((m) => m.payload)).toEqual([JSON.stringify({ filename: `${B}.json` })]);
      } finally {
        await device.close();
        await updates.close();
      }
    },
  );

  it.each([5, 4] as const)(
    "MQTT %i: a message over 64 KiB never reaches the server on MQTT 5; on 3.1.1 it is refused",
    async (version) => {
      const t = await start({ MQTT_URL: broker.tcpUrl, MQTT_PROTOCOL_VERSION: String(version) });
      const device = await connectDevice(broker.tcpUrl);
      try {
        await device.report(A, JSON.stringify({ state: "ok", message: "x".repeat(100_000) }));
        await device.report(SENTINEL, JSON.stringify({ state: "ok" }));
        await waitUntil("the sentinel recorded", async () => (await t.records()).some((r) => r.mac === SENTINEL));
        expect((await t.records()).map((r) => r.mac)).toEqual([SENTINEL]);
        // MQTT 5 told the broker the largest packet it takes: the broker dropped it for the server.
        expect(await t.counted("invalid")).toBe(version === 5 ? 0 : 1);
      } finally {
        await device.close();
      }
    },
  );

  it('README: the mosquitto_pub line of "Status reports over MQTT" is recorded as written', async () => {
    const t = await start({ MQTT_URL: broker.tcpUrl });
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    const line = /<!-- readme-test: mqtt-status-report -->\n```bash\n(.*)\n```/.exec(readme)?.[1];
    if (!line?.includes("-p 1883 ")) throw new Error("README block mqtt-status-report not found, or not on port 1883");
    // The broker's port is a free one here (1883 may be taken on a shared machine).
    await run("bash", ["-c", line.replace("-p 1883 ", `-p ${broker.tcpPort} `)]);
    const [recorded] = await waitUntil(
      "the README's report recorded",
      async () => {
        const found = await t.records();
        return found.length > 0 ? found : undefined;
      },
      RECORDED_WITHIN_MS,
    );
    expect(recorded).toMatchObject({
      mac: "aa-bb-cc-dd-ee-ff",
      report: { state: "ok", config_etag: expect.stringMatching(/^"[0-9a-f]{64}"$/), firmware_version: "1.4.2" },
    });
  });

  it("records a burst from many devices, with notifications flowing meanwhile", async () => {
    const t = await start({ MQTT_URL: broker.tcpUrl });
    const device = await connectDevice(broker.tcpUrl);
    const updates = await subscribe(broker.tcpUrl, ["iotsupport/updates/configs"]);
    const mac = (i: number) =>
      `c0-00-00-00-${String(Math.floor(i / 100)).padStart(2, "0")}-${String(i % 100).padStart(2, "0")}`;
    try {
      const reports = Array.from({ length: 300 }, (_, i) => device.report(mac(i), JSON.stringify({ state: "ok" })));
      const saves = Array.from({ length: 20 }, (_, i) => save(t.server, mac(i)));
      await Promise.all(reports);
      expect((await Promise.all(saves)).map((r) => r.status)).toEqual(Array(20).fill(200));
      await updates.waitFor(20);
      expect(updates.messages).toHaveLength(20);
      await waitUntil("every report recorded", async () => (await t.records()).length === 300);
      expect(new Set((await t.records()).map((r) => r.mac)).size).toBe(300);
      expect(await t.counted("ok")).toBe(300);
    } finally {
      await device.close();
      await updates.close();
    }
  });

  it.each([5, 4] as const)(
    "MQTT %i: a retained report is not recorded again at each (re)subscription",
    async (version) => {
      const device = await connectDevice(broker.tcpUrl, { protocolVersion: version });
      try {
        await device.report(B, JSON.stringify({ state: "failed", message: "stale" }), { retain: true });
        const t = await start({ MQTT_URL: broker.tcpUrl, MQTT_PROTOCOL_VERSION: String(version) });
        await device.report(SENTINEL, JSON.stringify({ state: "ok" }));
        await waitUntil("the sentinel recorded", async () => (await t.records()).some((r) => r.mac === SENTINEL));
        expect((await t.records()).map((r) => r.mac)).toEqual([SENTINEL]);
      } finally {
        // An empty retained message removes it from the broker for the other tests.
        await device.report(B, "", { retain: true });
        await device.close();
      }
    },
  );

  it("subscribes again after a broker restart, and records what is published then", async () => {
    const t = await start({ MQTT_URL: broker.tcpUrl });
    await broker.stop();
    await broker.start();
    await waitUntil("the status topics subscribed again", () => t.subscribed() >= 2);
    const device = await connectDevice(broker.tcpUrl);
    try {
      await device.report(A, JSON.stringify({ state: "ok", config_etag: '"after-restart"' }));
      const records = await waitUntil(
        "the report recorded",
        async () => {
          const found = await t.records();
          return found.length > 0 ? found : undefined;
        },
        RECORDED_WITHIN_MS,
      );
      expect(records).toEqual([
        expect.objectContaining({ mac: A, report: { state: "ok", config_etag: '"after-restart"' } }),
      ]);
    } finally {
      await device.close();
    }
  });
});

describe("MQTT_STATUS_TOPICS without an MQTT sink", () => {
  it.each([
    ["no sink", {}, "no sink is chosen (NOTIFY_URL is not set)"],
    ["the console sink", { NOTIFY_URL: "console:" }, "the sink is console"],
    [
      "the webhook sink",
      { NOTIFY_URL: "https://hooks.example/iot", WEBHOOK_SECRET: "0123456789abcdef0123456789abcdef" },
      "the sink is webhook",
    ],
  ])("stops the boot with %s, naming the setting (INVALID_SETTING)", async (_, env, why) => {
    await expect(
      boot({
        env: { DATA_DIR: join(dir, "data"), MQTT_STATUS_TOPICS: "true", ...env },
        runtime: "node",
        write: () => {},
      }),
    ).rejects.toMatchObject({
      code: "INVALID_SETTING",
      variable: "MQTT_STATUS_TOPICS",
      message: `Invalid setting MQTT_STATUS_TOPICS: needs the mqtt sink (NOTIFY_URL mqtt://, mqtts://, ws://, wss://), but ${why}`,
    });
  });

  it.each(["maybe", "on", "tru", "\u001b[31mtrue"])(
    "refuses a value that is no boolean (%j), naming the setting (true/false/1/0/yes/no are)",
    async (value) => {
      const boots = boot({
        env: { DATA_DIR: join(dir, "data"), NOTIFY_URL: "mqtt://127.0.0.1:1", MQTT_STATUS_TOPICS: value },
        runtime: "node",
        write: () => {},
      });
      await expect(boots).rejects.toMatchObject({ code: "INVALID_SETTING", variable: "MQTT_STATUS_TOPICS" });
    },
  );
});
