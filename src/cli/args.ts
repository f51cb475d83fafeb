/**
 * Command line and environment → validated options. Pure: the caller passes argv
 * and env, so tests and `main` share one parser and nothing reads process state.
 */
import { basename } from "node:path";
import { type Env, nonEmpty, parseOptions, serverBase } from "./command-line.js";
import { usageError } from "./errors.js";

export type { Env } from "./command-line.js";

export interface UploadOptions {
  file: string;
  /** The stored asset name: --name, or the file's base name. */
  name: string;
  /** The upload endpoint, resolved from --server. */
  endpoint: URL;
  keyPath: string;
  signatureVersion: 1 | 2;
  /** A pinned timestamp (--timestamp); otherwise each attempt signs the current time. */
  timestamp?: string;
  retries: number;
  quiet: boolean;
}

export type Command = { kind: "help" } | { kind: "version" } | { kind: "upload"; options: UploadOptions };

const MAX_RETRIES = 100;

const OPTIONS = {
  name: { type: "string" },
  server: { type: "string" },
  key: { type: "string" },
  v1: { type: "boolean" },
  timestamp: { type: "string" },
  retries: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const;

export function parseCommand(argv: string[], env: Env): Command {
  const { values, positionals } = parseOptions(argv, OPTIONS);
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };

  if (positionals.length === 0) throw usageError("missing the file to upload");
  if (positionals.length > 1)
    throw usageError(`expected one file, got ${positionals.length}: ${positionals.join(" ")}`);
  const file = positionals[0] as string;

  const server = values.server ?? nonEmpty(env.IOT_SERVER_URL);
  if (!server) throw usageError("missing --server URL (or set IOT_SERVER_URL)");
  const keyPath = values.key ?? nonEmpty(env.IOT_SIGNING_KEY_PATH);
  if (!keyPath) throw usageError("missing --key KEY.pem (or set IOT_SIGNING_KEY_PATH)");

  const name = values.name ?? basename(file);
  if (name === "") throw usageError("--name must not be empty");
  if (values.timestamp !== undefined) checkTimestamp(values.timestamp);

  return {
    kind: "upload",
    options: {
      file,
      name,
      endpoint: endpointOf(server),
      keyPath,
      signatureVersion: values.v1 ? 1 : 2,
      timestamp: values.timestamp,
      retries: retriesOf(values.retries),
      quiet: values.quiet ?? false,
    },
  };
}

/** The server's base URL → its upload endpoint. */
const endpointOf = (server: string): URL =>
  new URL("api/assets", serverBase(server, "uploads are authenticated by their signature"));

function retriesOf(text: string | undefined): number {
  if (text === undefined) return 0;
  if (!/^\d+$/.test(text) || Number(text) > MAX_RETRIES) {
    throw usageError(`--retries must be a whole number from 0 to ${MAX_RETRIES}, got "${text}"`);
  }
  return Number(text);
}

/** A loose local check so a typo fails here; the server applies the exact ISO 8601 rules. */
function checkTimestamp(text: string): void {
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text) || Number.isNaN(Date.parse(text))) {
    throw usageError(`--timestamp must be an ISO 8601 time like 2026-01-01T12:00:00.000Z, got "${text}"`);
  }
}
