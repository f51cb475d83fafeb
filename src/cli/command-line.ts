/**
 * What every command's argument parsing shares: node's parseArgs with its complaints as
 * usage errors, environment fallbacks, and --server checked and turned into the server's
 * base URL. Pure: callers pass argv and env, so nothing here reads process state.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { usageError } from "./errors.js";
import { isFetchBlockedPort } from "./fetch-ports.js";
import { redactCredentials, redactUrl } from "./redact.js";

export type Env = Record<string, string | undefined>;

/** parseArgs, strict, positionals allowed; an unknown or malformed option is a usage error. */
export function parseOptions<const O extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs throws ERR_PARSE_ARGS_* TypeErrors whose messages already name the option.
    throw usageError(error instanceof Error ? error.message : String(error));
  }
}

/** An environment value, or undefined when it is unset or blank (a blank default is no default). */
export const nonEmpty = (value: string | undefined) => (value === undefined || value.trim() === "" ? undefined : value);

/**
 * --server → the server's base URL, ending in `/` so that endpoints resolve beneath it and a
 * path prefix (a proxy's mount point) is kept. `noCredentials` says why user:pass@ has no
 * place in it for this command.
 */
export function serverBase(server: string, noCredentials: string): URL {
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    // URL's own message is just "Invalid URL"; ours says what is expected.
    throw usageError(`--server must be a URL like http://host:3201, got "${redactCredentials(server)}"`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw usageError(`--server must be an http:// or https:// URL, got "${redactUrl(base)}"`);
  }
  if (base.username !== "" || base.password !== "") {
    // fetch refuses such a URL anyway (quoting it whole in its error); say why, without the secret.
    throw usageError(`--server must not contain a user name or password, got "${redactUrl(base)}": ${noCredentials}`);
  }
  if (isFetchBlockedPort(base)) {
    throw usageError(
      `--server port ${base.port} is one that fetch refuses to connect to (a Fetch standard "bad port"); serve on another port`,
    );
  }
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  return base;
}
