/**
 * deploy/mosquitto's broker recipe run as written on a private broker: its mosquitto.conf with
 * only the host's paths and the port moved into the broker's folder (each moved line must be
 * there exactly once, and no other host path may be left, so an edited recipe fails here
 * instead of going untested), its acl as it is (or as the caller edits it, e.g. the documented
 * migration line uncommented), and every login made by its users.sh.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Broker, type BrokerConfig, startBroker } from "./mosquitto.js";
import { ROOT } from "./server.js";

const run = promisify(execFile);
export const RECIPE_DIR = join(ROOT, "deploy/mosquitto");

export interface Login {
  username: string;
  password: string;
}

export interface RecipeBroker {
  broker: Broker;
  /** The server's login, `iotsupport`. */
  server: Login;
  /** The login of each device the broker was started with. */
  device(mac: string): Login;
  /** Runs users.sh on this broker's password file (the broker sees the change after a SIGHUP). */
  users(...args: string[]): Promise<{ stdout: string; stderr: string }>;
}

/** mosquitto.conf's lines that name a place on the host, and where they point on a private broker. */
function moves(dir: string, port: number): Array<[string, string]> {
  return [
    ["pid_file /run/mosquitto/mosquitto.pid", `pid_file ${join(dir, "run/mosquitto.pid")}`],
    ["persistence_location /var/lib/mosquitto/", `persistence_location ${join(dir, "data")}/`],
    ["log_dest file /var/log/mosquitto/mosquitto.log", `log_dest file ${join(dir, "log/mosquitto.log")}`],
    ["password_file /etc/mosquitto/passwd", `password_file ${join(dir, "passwd")}`],
    ["acl_file /etc/mosquitto/acl", `acl_file ${join(dir, "acl")}`],
    ["listener 1883", `listener ${port} 127.0.0.1`],
  ];
}

/** The recipe's mosquitto.conf for a broker living in `dir` and listening on `port` (loopback). */
export function privateConfig(text: string, dir: string, port: number): string {
  const lines = text.split("\n");
  for (const [from, to] of moves(dir, port)) {
    const at = lines.flatMap((line, i) => (line === from ? [i] : []));
    if (at.length !== 1) throw new Error(`deploy/mosquitto/mosquitto.conf: expected the line "${from}" once`);
    lines[at[0] as number] = to;
  }
  const stray = lines.find((line) => !line.startsWith("#") && line.includes(" /") && !line.includes(dir));
  if (stray) throw new Error(`deploy/mosquitto/mosquitto.conf names a host path the test does not move: ${stray}`);
  return lines.join("\n");
}

/** users.sh's answer: `username: …` and `password: …` lines. */
function parseLogin(stdout: string): Login {
  const match = /^username: (\S+)\npassword: (\S+)\n$/.exec(stdout);
  if (!match) throw new Error(`users.sh printed no login: ${JSON.stringify(stdout)}`);
  return { username: match[1] as string, password: match[2] as string };
}

export async function startRecipeBroker(
  devices: string[],
  editAcl: (text: string) => string = (text) => text,
): Promise<RecipeBroker> {
  let passwd = "";
  let server: Login | undefined;
  const logins = new Map<string, Login>();
  const users = (...args: string[]) =>
    run("bash", [join(RECIPE_DIR, "users.sh"), ...args], { env: { ...process.env, MOSQUITTO_PASSWD: passwd } });

  const config: BrokerConfig = {
    logFile: "log/mosquitto.log",
    async write(dir, ports) {
      passwd = join(dir, "passwd");
      for (const folder of ["run", "data", "log"]) await mkdir(join(dir, folder));
      await writeFile(join(dir, "acl"), editAcl(await readFile(join(RECIPE_DIR, "acl"), "utf8")));
      server = parseLogin((await users("server")).stdout);
      for (const mac of devices) logins.set(mac, parseLogin((await users("device", mac)).stdout));
      config.probe = server;
      return privateConfig(await readFile(join(RECIPE_DIR, "mosquitto.conf"), "utf8"), dir, ports.tcp);
    },
  };
  const broker = await startBroker({ config });
  return {
    broker,
    server: server as Login,
    device(mac) {
      const login = logins.get(mac);
      if (!login) throw new Error(`no login made for ${mac}`);
      return login;
    },
    users,
  };
}
