/**
 * The command line every admin command (iot-device, iot-rollout) shares: its options, the
 * server, and where the admin token comes from. The admin token is never an argument (every
 * user of the machine sees argv in `ps`, and shells keep it in their history): it comes from
 * IOT_ADMIN_TOKEN or from the file --admin-token-file names, and is read later (admin-token.ts).
 */
import { type Env, nonEmpty, serverBase } from "./command-line.js";
import { usageError } from "./errors.js";

export type AdminTokenSource =
  | { from: "env"; token: string }
  | { from: "file"; path: string }
  /** Neither given: the request goes without one (a server without admin authentication). */
  | { from: "none" };

/** What every admin command takes from its process; each adds its own. */
export interface AdminCliDeps {
  argv: string[];
  env: Env;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  fetch: typeof fetch;
  /** Wall clock, for a Retry-After given as a date. */
  clock: () => Date;
  /** Decides whether the admin token file's permissions are checked (POSIX only). */
  platform: NodeJS.Platform;
}

/** The options of every admin command; each adds its own. */
export const ADMIN_OPTIONS = {
  server: { type: "string" },
  "admin-token-file": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const;

/** Options someone might try for passing the token itself; refused without repeating what followed. */
const TOKEN_ON_ARGV = /^--(admin-token|token|bearer)(=|$)/;

/** Every admin command refuses a token on its command line (iot-device, iot-rollout). */
export function refuseTokenOnArgv(argv: string[]): void {
  if (argv.some((arg) => TOKEN_ON_ARGV.test(arg))) {
    throw usageError(
      "the admin token is never taken from the command line, where every user of this machine can see it (ps); set IOT_ADMIN_TOKEN or pass --admin-token-file PATH",
    );
  }
}

/** The server's base URL, ending in `/`: --server, or IOT_SERVER_URL. */
export function adminServerBase(server: string | undefined, env: Env): URL {
  const given = server ?? nonEmpty(env.IOT_SERVER_URL);
  if (!given) throw usageError("missing --server URL (or set IOT_SERVER_URL)");
  return serverBase(given, "the admin token goes in IOT_ADMIN_TOKEN or --admin-token-file");
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
