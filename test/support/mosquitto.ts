/**
 * Starts a private Mosquitto broker for tests: free ports, its own config, data and
 * log folders, one TCP and one WebSocket listener, optionally a password file and an ACL;
 * or a whole configuration of the caller's (e.g. deploy/mosquitto's, see mosquitto-recipe.ts).
 * Stopped by PID. Where `mosquitto` is not installed, `mosquittoAvailable()` says so;
 * under CI (CI=true) a missing broker is an error, never a skip.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";

export { type Received, subscribe } from "./mqtt-subscriber.js";

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
  /** The caller's own configuration instead of the generated one (`users` and `acl` are then ignored). */
  config?: BrokerConfig;
}

export interface BrokerConfig {
  /**
   * Writes whatever files the configuration names into the broker's folder `dir` (handed to
   * the `mosquitto` user afterwards, as a whole) and returns the text of mosquitto.conf. The
   * broker's `wsUrl` answers only if that text has a websockets listener on `ports.ws`.
   */
  write(dir: string, ports: { tcp: number; ws: number }): Promise<string>;
  /** Who the readiness probe logs in as, when anonymous access is off (read after write(), which may set it). */
  probe?: { username: string; password: string };
  /** The log file the configuration writes (relative to `dir`), added to the broker's log(). */
  logFile?: string;
}

/** The first of `users`, whom the readiness probe logs in as. */
function userAndPassword(users: Record<string, string>): { username: string; password: string } | undefined {
  const [first] = Object.entries(users);
  return first && { username: first[0], password: first[1] };
}

/** Hands a folder and everything in it to the given owner. */
function chownTree(path: string, owner: { uid: number; gid: number }): void {
  chownSync(path, owner.uid, owner.gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownTree(child, owner);
    else chownSync(child, owner.uid, owner.gid);
  }
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
  const conf = join(dir, "mosquitto.conf");
  const custom = options.config;
  try {
    const text = custom
      ? await custom.write(dir, { tcp: tcpPort, ws: wsPort })
      : await generatedConfig(dir, tcpPort, wsPort, options);
    await writeFile(conf, text);
    // As root, mosquitto drops to the `mosquitto` user before it reads its password and ACL files or writes its
    // pid, log and data: everything in its folder must be its own.
    const owner = isRoot() ? mosquittoUid() : undefined;
    if (owner) chownTree(dir, owner);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const probe = custom ? custom.probe : options.users && userAndPassword(options.users);
  const logFile = custom?.logFile && join(dir, custom.logFile);

  let child: ChildProcess | undefined;
  let output = "";
  let exited: Promise<void> = Promise.resolve();
  const log = () => output + (logFile && existsSync(logFile) ? readFileSync(logFile, "utf8") : "");

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
    await waitForBroker(`mqtt://127.0.0.1:${tcpPort}`, probe, () => proc.exitCode !== null, log);
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
    log,
    async cleanup() {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The configuration most tests use: both listeners on loopback, logging to stdout, `users` and `acl` if given. */
async function generatedConfig(dir: string, tcpPort: number, wsPort: number, options: BrokerOptions): Promise<string> {
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
  return `${lines.join("\n")}\n`;
}

async function waitForBroker(
  url: string,
  probe: { username: string; password: string } | undefined,
  dead: () => boolean,
  output: () => string,
): Promise<void> {
  const { username, password } = probe ?? {};
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
