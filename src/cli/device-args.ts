/**
 * iot-device's command line and environment → what to do. Pure, like args.ts: the caller
 * passes argv and env. The admin token is never an argument (admin-args.ts).
 */
import { isMac } from "../core/names.js";
import { ADMIN_OPTIONS, type AdminTokenSource, adminServerBase, adminSource, refuseTokenOnArgv } from "./admin-args.js";
import { type Env, parseOptions } from "./command-line.js";
import { usageError } from "./errors.js";
import { forTerminal } from "./terminal-text.js";

export type DeviceAction = "token" | "revoke";

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

/** How much of a mistyped MAC is echoed. */
const MAX_MAC_SHOWN = 64;

export function parseDeviceCommand(argv: string[], env: Env): DeviceCommand {
  refuseTokenOnArgv(argv);
  const { values, positionals } = parseOptions(argv, ADMIN_OPTIONS);
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

  const base = adminServerBase(values.server, env);

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
