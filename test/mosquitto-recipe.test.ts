/**
 * deploy/mosquitto's broker recipe (mosquitto.conf, acl, users.sh) on a real Mosquitto 2.0,
 * with devices on MQTT 5 and 3.1.1 and the real server publishing with its own login and
 * MQTT_DEVICE_TOPICS=true: a device hears its own config's and the assets' notifications and
 * nothing of another device's, publishes nothing under iotsupport/updates, and reports only
 * its own status; the server reads every status, and with MQTT_STATUS_TOPICS=true records a
 * device's own report and never one forged in another's name. No anonymous login; users.sh's
 * changes apply on a reload. Its size limit: mosquitto-recipe-limits.test.ts.
 *
 * "Never delivered" is shown without waiting for a silence: a client's packets are handled in
 * order, so once a later message has arrived, an earlier one would have arrived before it.
 */
import { join } from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testKeys } from "./support/keys.js";
import { mosquittoAvailable, subscribe } from "./support/mosquitto.js";
import { type Login, type RecipeBroker, startRecipeBroker } from "./support/mosquitto-recipe.js";
import { type SpawnedServer, spawnServer } from "./support/server.js";
import { recordedReports } from "./support/status-reports.js";
import { freshTimestamp } from "./support/upload-stream.js";
import { waitUntil } from "./support/wait.js";

const available = mosquittoAvailable();
const A = "a0-00-00-00-00-0a";
const B = "b0-00-00-00-00-0b";
const configTopic = (mac: string) => `iotsupport/updates/configs/${mac}`;
const statusTopic = (mac: string) => `iotsupport/status/${mac}`;
const announced = (filename: string) => JSON.stringify({ filename });
/** Mosquitto's "not authorized": CONNACK, PUBACK and SUBACK reason code on MQTT 5; CONNACK return code 5 on 3.1.1. */
const NOT_AUTHORIZED = { 5: 0x87, 4: 5 } as const;

type Version = 5 | 4;

interface Device {
  client: MqttClient;
  messages: Array<{ topic: string; payload: string }>;
  /** CONNACK's flag: the broker handed this connection an existing session. */
  sessionPresent: boolean;
}

async function connect(
  url: string,
  login: Partial<Login>,
  version: Version,
  options: IClientOptions = {},
): Promise<Device> {
  const client = mqtt.connect(url, { ...login, protocolVersion: version, reconnectPeriod: 0, ...options });
  const messages: Device["messages"] = [];
  client.on("message", (topic, payload) => messages.push({ topic, payload: payload.toString() }));
  const sessionPresent = await new Promise<boolean>((resolve, reject) => {
    client.once("connect", (connack) => resolve(connack.sessionPresent));
    client.once("error", (error) => {
      client.end(true);
      reject(error);
    });
  });
  return { client, messages, sessionPresent };
}

/** The reason a login is refused: CONNACK's code. */
async function refusal(url: string, login: Partial<Login>, version: Version): Promise<number | undefined> {
  try {
    const { client } = await connect(url, login, version);
    await client.endAsync(true);
    return undefined;
  } catch (error) {
    return (error as { code?: number }).code;
  }
}

/** A QoS 1 publish's outcome: `ok`, or the refusing PUBACK's reason code. */
async function publish(device: Device, topic: string, payload: string): Promise<"ok" | number | undefined> {
  try {
    await device.client.publishAsync(topic, payload, { qos: 1 });
    return "ok";
  } catch (error) {
    return (error as { code?: number }).code;
  }
}

describe.skipIf(!available)("deploy/mosquitto: the broker recipe on a real Mosquitto", () => {
  const keys = testKeys();
  let recipe: RecipeBroker;
  let server: SpawnedServer;
  let url: string;
  beforeAll(async () => {
    recipe = await startRecipeBroker([A, B]);
    url = recipe.broker.tcpUrl;
    server = await spawnServer({
      MQTT_URL: url,
      MQTT_USERNAME: recipe.server.username,
      MQTT_PASSWORD: recipe.server.password,
      MQTT_DEVICE_TOPICS: "true",
      MQTT_STATUS_TOPICS: "true",
      SIGNING_KEY: keys.spki,
    });
    await waitUntil("the server's sink to log in", async () => {
      const health = (await (await fetch(`${server.url}/api/health`)).json()) as { notifications: { ready: boolean } };
      return health.notifications.ready;
    });
  });
  afterAll(async () => {
    await server?.cleanup();
    await recipe?.broker.cleanup();
  });

  const saveConfig = async (mac: string, deviceName: string) => {
    const res = await fetch(`${server.url}/api/configs/${mac}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ content: { deviceName } }),
    });
    expect(res.status).toBe(200);
  };
  const uploadAsset = async (name: string) => {
    const form = new FormData();
    const timestamp = freshTimestamp();
    form.set("timestamp", timestamp);
    form.set("signature", keys.sign(timestamp));
    form.set("file", new Blob(["firmware"]), name);
    expect((await fetch(`${server.url}/api/assets`, { method: "POST", body: form })).status).toBe(200);
  };

  it.each([5, 4] as const)("MQTT %i: no anonymous login, no wrong password", async (version) => {
    expect(await refusal(url, {}, version)).toBe(NOT_AUTHORIZED[version]);
    expect(await refusal(url, { username: A, password: recipe.device(B).password }, version)).toBe(
      NOT_AUTHORIZED[version],
    );
  });

  describe.each([5, 4] as const)("a device on MQTT %i", (version) => {
    it("hears its own config's saves and asset uploads, announced by the real server", async () => {
      const device = await connect(url, recipe.device(A), version);
      try {
        const granted = await device.client.subscribeAsync([configTopic(A), "iotsupport/updates/assets"], { qos: 1 });
        expect(granted.map((g) => g.qos)).toEqual([1, 1]);
        await saveConfig(A, `own-${version}`);
        await uploadAsset(`fw-${version}.bin`);
        await waitUntil("both notifications", () => device.messages.length >= 2);
        expect(device.messages).toEqual([
          { topic: configTopic(A), payload: announced(`${A}.json`) },
          { topic: "iotsupport/updates/assets", payload: announced(`fw-${version}.bin`) },
        ]);
      } finally {
        await device.client.endAsync(true);
      }
    });

    it("is granted any subscription (Mosquitto 2.0's acl_file checks none) but receives nothing of another device", async () => {
      const device = await connect(url, recipe.device(A), version);
      try {
        const filters = [configTopic(B), "iotsupport/updates/configs/+", "iotsupport/updates/configs", "#"];
        const granted = await device.client.subscribeAsync(filters, { qos: 1 });
        // Not 0x87 (MQTT 5) nor 0x80 (3.1.1): acl_file grants every SUBACK and checks each message instead.
        expect(granted.map((g) => g.qos)).toEqual([1, 1, 1, 1]);
        // B's save is announced first (on the shared topic and B's), A's next: A's arriving shows B's never will.
        await saveConfig(B, `other-${version}`);
        await saveConfig(A, `mine-${version}`);
        await waitUntil("A's own notification", () => device.messages.length > 0);
        expect(new Set(device.messages.map((m) => `${m.topic} ${m.payload}`))).toEqual(
          new Set([`${configTopic(A)} ${announced(`${A}.json`)}`]),
        );
      } finally {
        await device.client.endAsync(true);
      }
    });

    it("cannot publish under iotsupport/updates (MQTT 5: PUBACK 0x87; 3.1.1: dropped), as the server sees", async () => {
      const watcher = await subscribe(url, ["iotsupport/#"], recipe.server);
      const device = await connect(url, recipe.device(A), version);
      try {
        const forged = [configTopic(A), configTopic(B), "iotsupport/updates/configs", "iotsupport/updates/assets"];
        for (const topic of forged) {
          expect(await publish(device, topic, announced("evil.bin"))).toBe(version === 5 ? NOT_AUTHORIZED[5] : "ok");
        }
        expect(await publish(device, statusTopic(A), '{"state":"ok"}')).toBe("ok");
        await watcher.waitFor(1);
        expect(watcher.messages.map((m) => [m.topic, m.payload])).toEqual([[statusTopic(A), '{"state":"ok"}']]);
      } finally {
        await device.client.endAsync(true);
        await watcher.close();
      }
    });

    it("taking over another device's client id and session disconnects it, but gets none of its messages", async () => {
      // Mosquitto ties no client id to a user name: the takeover works; the ACL is checked against the user name.
      const session = {
        clientId: `device-${B}-${version}`,
        clean: false,
        ...(version === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}),
      };
      const owner = await connect(url, recipe.device(B), version, session);
      await owner.client.subscribeAsync(configTopic(B), { qos: 1 });
      const kicked = new Promise<void>((resolve) => owner.client.once("close", () => resolve()));
      const thief = await connect(url, recipe.device(A), version, session);
      try {
        await kicked;
        expect(thief.sessionPresent).toBe(true);
        await thief.client.subscribeAsync(configTopic(A), { qos: 1 });
        // The inherited subscription matches B's save; A's own, announced after it, shows it was not delivered.
        await saveConfig(B, `taken-${version}`);
        await saveConfig(A, `thief-${version}`);
        await waitUntil("A's own notification", () => thief.messages.length > 0);
        expect(thief.messages).toEqual([{ topic: configTopic(A), payload: announced(`${A}.json`) }]);
      } finally {
        await thief.client.endAsync(true);
        await owner.client.endAsync(true);
      }
    });

    it("reports its own status, not another device's: the real server records only its own", async () => {
      const watcher = await subscribe(url, ["iotsupport/status/#"], recipe.server);
      const device = await connect(url, recipe.device(A), version);
      const own = JSON.stringify({ state: "updating", message: `own-${version}` });
      try {
        expect(await publish(device, statusTopic(B), '{"state":"failed"}')).toBe(
          version === 5 ? NOT_AUTHORIZED[5] : "ok",
        );
        expect(await publish(device, statusTopic(A), own)).toBe("ok");
        await watcher.waitFor(1);
        expect(watcher.messages.map((m) => [m.topic, m.payload])).toEqual([[statusTopic(A), own]]);
        // The server's login reads the same topics: it records A's report; the forged one, sent first, never came.
        const stateDir = join(server.dataDir, "state");
        await waitUntil("A's report recorded", async () =>
          (await recordedReports(stateDir)).some((r) => r.report.message === `own-${version}`),
        );
        expect((await recordedReports(stateDir)).filter((r) => r.mac === B)).toEqual([]);
      } finally {
        await device.client.endAsync(true);
        await watcher.close();
      }
    });
  });

  it("users.sh: a device added while the broker runs logs in after a reload; one removed is cut off by it", async () => {
    const C = "c0-00-00-00-00-0c";
    const added = await recipe.users("device", "C0:00:00:00:00:0C");
    const login = { username: C, password: /password: (\S+)/.exec(added.stdout)?.[1] as string };
    expect(added.stdout).toBe(`username: ${C}\npassword: ${login.password}\n`);
    expect(login.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await refusal(url, login, 5)).toBe(NOT_AUTHORIZED[5]);
    recipe.broker.signal("SIGHUP");
    const device = await waitUntil("C's login after the reload", async () =>
      connect(url, login, 5).catch(() => undefined),
    );
    const closed = new Promise<void>((resolve) => device.client.once("close", () => resolve()));
    await recipe.users("remove", C);
    recipe.broker.signal("SIGHUP");
    await closed;
    expect(await refusal(url, login, 5)).toBe(NOT_AUTHORIZED[5]);
  });
});

describe.skipIf(!available)("deploy/mosquitto/acl: the migration line for firmware on the shared topic", () => {
  const line = "#pattern read iotsupport/updates/configs";
  let recipe: RecipeBroker;
  beforeAll(async () => {
    recipe = await startRecipeBroker([A], (acl) => {
      if (acl.split("\n").filter((l) => l === line).length !== 1) throw new Error(`the acl has no line "${line}"`);
      return acl.replace(line, line.slice(1));
    });
  });
  afterAll(async () => {
    await recipe?.broker.cleanup();
  });

  it("uncommented, devices hear the shared topic too, and still cannot publish to it", async () => {
    const device = await connect(recipe.broker.tcpUrl, recipe.device(A), 5);
    const server = await connect(recipe.broker.tcpUrl, recipe.server, 5);
    try {
      await device.client.subscribeAsync("iotsupport/updates/configs", { qos: 1 });
      expect(await publish(device, "iotsupport/updates/configs", announced("evil.json"))).toBe(NOT_AUTHORIZED[5]);
      expect(await publish(server, "iotsupport/updates/configs", announced(`${B}.json`))).toBe("ok");
      await waitUntil("the shared notification", () => device.messages.length > 0);
      expect(device.messages).toEqual([{ topic: "iotsupport/updates/configs", payload: announced(`${B}.json`) }]);
    } finally {
      await device.client.endAsync(true);
      await server.client.endAsync(true);
    }
  });
});
