/**
 * iot-device's command line and environment → what to do. Pure, like args.ts: the caller
 * passes argv and env. The admin token is never an argument (every user of the machine sees
 * argv in `ps`, and shells keep it in their history): it comes from IOT_ADMIN_TOKEN or from
 * the file --admin-token-file names, and is read later (admin-token.ts).
 */
import { isMac } from "../core/names.js";
import { type Env, nonEmpty, parseOptions, serverBase } from "./command-line.js";
import { usageError } from "./errors.js";
import { forTerminal } from "./terminal-text.js";

export type DeviceAction = "token" | "revoke";

export type AdminTokenSource =
  | { from: "env"; token: string }
  | { from: "file"; path: string }
  /** Neither given: the request goes without one (a server without admin authentication). */
  | { from: "none" };

export interface DeviceOptions {
  action: DeviceAction;
  /** Lower case, checked: six hex pairs separated by dashes. */
  mac: string;
  /** The server's base URL, ending in `/`. */
  base: URL;
  admin: AdminTokenSource;
  json: boolean;
}

export type DeviceCommand = { kind: "help" } | { kind: "version" } | { kind: "run"; options: DeviceOptions };

const OPTIONS = {
  server: { type: "string" },
  "admin-token-file": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const;

/** Options someone might try for passing the token itself; refused without repeating what followed. */
const TOKEN_ON_ARGV = /^--(admin-token|token|bearer)(=|$)/;
/** How much of a mistyped MAC is echoed. */
const MAX_MAC_SHOWN = 64;

export function parseDeviceCommand(argv: string[], env: Env): DeviceCommand {
  refuseTokenOnArgv(argv);
  const { values, positionals } = parseOptions(argv, OPTIONS);
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };

  const [action, mac, ...rest] = positionals;
  if (action === undefined) throw usageError("missing the command: token or revoke");
  if (action !== "token" && action !== "revoke") {
    throw usageError(`unknown command "${forTerminal(action, MAX_MAC_SHOWN)}": expected token or revoke`);
  }
  if (mac === undefined) throw usageError(`missing the MAC address, e.g. iot-device ${action} aa-bb-cc-dd-ee-ff`);
  // Not echoed: a token pasted by mistake would land in the terminal and in CI logs.
  if (rest.length > 0) throw usageError(`expected one MAC address after ${action}, got ${rest.length + 1} arguments`);

  const server = values.server ?? nonEmpty(env.IOT_SERVER_URL);
  if (!server) throw usageError("missing --server URL (or set IOT_SERVER_URL)");
  const base = serverBase(server, "the admin token goes in IOT_ADMIN_TOKEN or --admin-token-file");

  return {
    kind: "run",
    options: {
      action,
      mac: macOf(mac),
      base,
      admin: adminSource(values["admin-token-file"], env),
      json: !!values.json,
    },
  };
}

/** Every admin command refuses a token on its command line (iot-device, iot-rollout). */
export function refuseTokenOnArgv(argv: string[]): void {
  if (argv.some((arg) => TOKEN_ON_ARGV.test(arg))) {
    throw usageError(
      "the admin token is never taken from the command line, where every user of this machine can see it (ps); set IOT_ADMIN_TOKEN or pass --admin-token-file PATH",
    );
  }
}

/** The MAC as the server wants it (lower case, dashes); its other spellings get a hint, not a silent fix. */
export function macOf(text: string): string {
  const mac = text.toLowerCase();
  if (isMac(mac)) return mac;
  const hex = /^[0-9a-f]{2}([:.]?)[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}$/.test(mac) ? mac.replace(/[:.]/g, "") : undefined;
  const hint = hex ? `; did you mean ${hex.match(/../g)?.join("-")}?` : ", e.g. aa-bb-cc-dd-ee-ff";
  throw usageError(
    `"${forTerminal(text, MAX_MAC_SHOWN)}" is not a MAC address as the server writes them: six hex pairs separated by dashes${hint}`,
  );
}

export function adminSource(file: string | undefined, env: Env): AdminTokenSource {
  // The flag wins over the environment, as --server wins over IOT_SERVER_URL.
  if (file !== undefined) {
    if (file === "") throw usageError("--admin-token-file must name a file");
    return { from: "file", path: file };
  }
  const token = nonEmpty(env.IOT_ADMIN_TOKEN);
  return token === undefined ? { from: "none" } : { from: "env", token };
}
