/**
 * Starts a private Mosquitto broker for tests: free ports, its own config, data and
 * log folders, one TCP and one WebSocket listener, optionally a password file.
 * Stopped by PID. Where `mosquitto` is not installed, `mosquittoAvailable()` says so;
 * under CI (CI=true) a missing broker is an error, never a skip.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";

const CANDIDATES = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"];

export function mosquittoPath(): string | undefined {
  for (const path of CANDIDATES) if (existsSync(path)) return path;
  try {
    return execFileSync("which", ["mosquitto"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    // `which` exits 1 when not found.
    return undefined;
  }
}

/** True when a broker can be started. In CI a missing broker fails loudly instead of skipping. */
export function mosquittoAvailable(): boolean {
  const found = mosquittoPath() !== undefined;
  if (!found && process.env.CI) throw new Error("mosquitto is not installed, but CI must run the broker tests");
  if (!found) console.warn("\n*** SKIPPING broker tests: mosquitto is not on PATH (apt-get install mosquitto) ***\n");
  return found;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface Broker {
  tcpUrl: string;
  wsUrl: string;
  tcpPort: number;
  wsPort: number;
  pid(): number | undefined;
  /** Stops the broker (SIGTERM, or the given signal) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same ports. */
  start(): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  log(): string;
  cleanup(): Promise<void>;
}

export interface BrokerOptions {
  /** username → password; when set, anonymous access is refused. */
  users?: Record<string, string>;
  /** The text of a Mosquitto ACL file, e.g. to make the broker refuse some publishes. */
  acl?: string;
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

function mosquittoUid(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync("id", ["-u", "mosquitto"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "mosquitto"], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch {
    // No such user: mosquitto then keeps running as root.
    return undefined;
  }
}

/** Ports come from freePort(), which another test process may take before mosquitto binds them: retry then. */
const PORT_ATTEMPTS = 3;

export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startBrokerOnce(options);
    } catch (error) {
      if (attempt >= PORT_ATTEMPTS || !String(error).includes("Address already in use")) throw error;
    }
  }
}

async function startBrokerOnce(options: BrokerOptions): Promise<Broker> {
  const binary = mosquittoPath();
  if (!binary) throw new Error("mosquitto not found");
  const dir = await mkdtemp(join(tmpdir(), "iot-mosquitto-"));
  const tcpPort = await freePort();
  const wsPort = await freePort();
  const lines = [
    `listener ${tcpPort} 127.0.0.1`,
    "protocol mqtt",
    `listener ${wsPort} 127.0.0.1`,
    "protocol websockets",
    "persistence false",
    "log_dest stdout",
    "log_type error",
    "log_type warning",
    "log_type notice",
    "log_type information",
  ];
  if (options.users) {
    const passwd = join(dir, "passwd");
    await writeFile(
      passwd,
      `${Object.keys(options.users)
        .map((u) => `${u}:placeholder`)
        .join("\n")}\n`,
    );
    for (const [user, password] of Object.entries(options.users)) {
      execFileSync("mosquitto_passwd", ["-b", passwd, user, password]);
    }
    lines.push("allow_anonymous false", `password_file ${passwd}`);
  } else {
    lines.push("allow_anonymous true");
  }
  if (options.acl !== undefined) {
    await writeFile(join(dir, "acl"), options.acl);
    lines.push(`acl_file ${join(dir, "acl")}`);
  }
  const conf = join(dir, "mosquitto.conf");
  await writeFile(conf, `${lines.join("\n")}\n`);
  // As root, mosquitto drops to the `mosquitto` user: it must be able to read its files.
  if (isRoot()) {
    const owner = mosquittoUid();
    if (owner)
      for (const path of [dir, conf, join(dir, "passwd"), join(dir, "acl")])
        if (existsSync(path)) chownSync(path, owner.uid, owner.gid);
  }

  let child: ChildProcess | undefined;
  let output = "";
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    const proc = spawn(binary, ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    proc.stdout?.on("data", (d) => {
      output += d;
    });
    proc.stderr?.on("data", (d) => {
      output += d;
    });
    exited = new Promise((resolve) => proc.on("exit", () => resolve()));
    await waitForBroker(
      `mqtt://127.0.0.1:${tcpPort}`,
      options.users,
      () => proc.exitCode !== null,
      () => output,
    );
  };

  try {
    await start();
  } catch (error) {
    // A broker that never accepted connections may still be running: gone first, then its folder.
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    tcpUrl: `mqtt://127.0.0.1:${tcpPort}`,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    tcpPort,
    wsPort,
    pid: () => child?.pid,
    async stop(signal = "SIGTERM") {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
    },
    start,
    signal(signal) {
      child?.kill(signal);
    },
    log: () => output,
    async cleanup() {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForBroker(
  url: string,
  users: Record<string, string> | undefined,
  dead: () => boolean,
  output: () => string,
): Promise<void> {
  const [username, password] = users ? (Object.entries(users)[0] ?? []) : [];
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (dead()) throw new Error(`mosquitto exited at start:\n${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const probe = mqtt.connect(url, { username, password, reconnectPeriod: 0, connectTimeout: 1000 });
      probe.on("connect", () => {
        probe.end(true);
        resolve(true);
      });
      probe.on("error", () => {
        probe.end(true);
        resolve(false);
      });
      probe.on("close", () => resolve(false));
    });
    // A probe can reach another broker that holds the port; ours then exits with "Address already in use".
    if (ok && !dead()) {
      await new Promise((r) => setTimeout(r, 50));
      if (!dead()) return;
    }
    if (dead()) throw new Error(`mosquitto exited at start:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mosquitto did not accept connections within 10 s:\n${output()}`);
}

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  at: number;
  /** MQTT 5 user properties, when the message carried any. */
  userProperties?: Record<string, string | string[]>;
}

/** A real subscriber on `#`-style topics; collects every message it receives. */
export async function subscribe(
  url: string,
  topics: string[] = ["iotsupport/#"],
  auth: { username?: string; password?: string } = {},
): Promise<{
  client: MqttClient;
  messages: Received[];
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}> {
  const client = mqtt.connect(url, { ...auth, protocolVersion: 5, reconnectPeriod: 200 });
  const messages: Received[] = [];
  client.on("message", (topic, payload, packet) => {
    messages.push({
      topic,
      payload: payload.toString(),
      qos: packet.qos,
      retain: packet.retain,
      at: performance.now(),
      ...(packet.properties?.userProperties ? { userProperties: packet.properties.userProperties } : {}),
    });
  });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  await client.subscribeAsync(topics, { qos: 1 });
  return {
    client,
    messages,
    async waitFor(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return messages;
    },
    close: () => client.endAsync(true),
  };
}
