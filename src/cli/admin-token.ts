/**
 * The admin token iot-device and iot-rollout send, from IOT_ADMIN_TOKEN or --admin-token-file, checked to
 * be one bearer credential (RFC 6750 characters, as the server parses it) before anything is
 * sent: a stray space or line break inside is caught here, with a message that says where
 * the token came from and never quotes it.
 */
import { bearerOf } from "../core/auth/bearer.js";
import type { AdminTokenSource } from "./admin-args.js";
import type { AdminServer } from "./admin-request.js";
import { localError, usageError } from "./errors.js";
import { shown } from "./report.js";
import { readSecretFile, type SecretFileChecks, type SecretKind, warnIfOpen } from "./secret-file.js";

const TOKEN_FILE: SecretKind = {
  noun: "the admin token file",
  openNoun: "the admin token file",
  power: "administer the server",
};

const SHAPE = "one line of letters, digits and -._~+/ (then any = padding), as npx iot-token prints it";

/** The token to send, or undefined when none was given. */
export async function resolveAdminToken(
  source: AdminTokenSource,
  checks: SecretFileChecks,
): Promise<string | undefined> {
  if (source.from === "none") return undefined;
  if (source.from === "env") {
    const token = source.token.trim();
    if (!isBearerToken(token)) throw usageError(`IOT_ADMIN_TOKEN is not an admin token: it must be ${SHAPE}`);
    return token;
  }
  const file = await readSecretFile(source.path, TOKEN_FILE);
  // A file written by `echo` or an editor ends with a line break, which is not part of the token.
  const token = file.text.trim();
  if (token === "") throw localError(`the admin token file ${source.path} is empty`);
  if (!isBearerToken(token)) {
    throw localError(`the admin token file ${source.path} does not hold an admin token: it must be ${SHAPE}`);
  }
  warnIfOpen(source.path, file, TOKEN_FILE, checks);
  return token;
}

const isBearerToken = (token: string) => bearerOf(`Bearer ${token}`).kind === "token";

/** The server an admin command talks to, its token resolved; a warning (an open token file) goes to stderr under the command's name. */
export async function adminServerOf(
  connection: { base: URL; admin: AdminTokenSource },
  command: { name: string; platform: NodeJS.Platform; stderr: (text: string) => void },
): Promise<AdminServer> {
  const adminToken = await resolveAdminToken(connection.admin, {
    platform: command.platform,
    warn: (message) => command.stderr(`${command.name}: warning: ${shown(message)}\n`),
  });
  return { base: connection.base, adminToken };
}
