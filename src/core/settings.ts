/**
 * Environment → validated settings. Runtime-neutral: the caller passes the
 * environment as a plain record (process.env, Deno.env, Worker bindings).
 * An invalid value raises SettingsError naming the variable, so the entry point
 * can print one line and exit non-zero.
 */
import { z } from "zod";
import {
  bool,
  hashList,
  hostList,
  int,
  isLoopbackHost,
  issuerUrl,
  mqttUrl,
  optionalText,
  origins,
  pem,
  tokenTypeList,
} from "./setting-types.js";
import { MAX_TIMESTAMP_TOLERANCE_SECONDS } from "./signature-retention.js";

export { isLoopbackHost };

export type Env = Record<string, string | undefined>;

export class SettingsError extends Error {
  readonly code = "INVALID_SETTING";
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid setting ${variable}: ${problem}`);
    this.name = "SettingsError";
  }
}

/** Variable name → schema. Declared as data so docs and tests can iterate it. */
const SCHEMA = {
  PORT: int(0, 65535).default(3201),
  HOST: z.string().trim().min(1).default("127.0.0.1"),
  DATA_DIR: z.string().trim().min(1).default("./data"),
  ESP32_CONFIGS_DIR: optionalText,
  ASSETS_DIR: optionalText,
  STATE_DIR: optionalText,
  SIGNING_KEY_PATH: optionalText,
  SIGNING_KEY: pem.optional(),
  TIMESTAMP_TOLERANCE_SECONDS: int(0, MAX_TIMESTAMP_TOLERANCE_SECONDS).default(300),
  CORS_ORIGINS: origins.default(["http://localhost:3000"]),
  NOTIFY_URL: mqttUrl.optional(),
  // The older name of NOTIFY_URL, kept so existing deployments notice nothing.
  MQTT_URL: mqttUrl.optional(),
  NOTIFY_FLUSH_TIMEOUT_MS: int(0).optional(),
  // The older name of NOTIFY_FLUSH_TIMEOUT_MS.
  MQTT_FLUSH_TIMEOUT_MS: int(0).optional(),
  SHUTDOWN_TIMEOUT_MS: int(0).default(5000),
  MAX_UPLOAD_BYTES: int(1).default(104_857_600),
  MAX_CONFIG_BYTES: int(1).default(1_048_576),
  UPLOAD_SIGNATURE_MIN_VERSION: z.enum(["1", "2"], { message: "must be 1 or 2" }).transform(Number).default(1),
  UPLOAD_SIGNATURE_REUSE: z
    .enum(["deny", "allow"], { message: "must be deny (each signature accepted once) or allow" })
    .default("deny"),
  MAX_CONCURRENT_UPLOADS: int(1, 10_000).default(8),
  UPLOAD_IDLE_TIMEOUT_MS: int(100).default(30_000),
  // Unset: half of MAX_CONCURRENT_UPLOADS (rounded up), so one address can never hold every slot.
  MAX_UPLOADS_PER_CLIENT: int(1, 10_000).optional(),
  UPLOAD_MIN_BYTES_PER_SECOND: int(0, 1_073_741_824).default(1024),
  CLIENT_IP_HEADER: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9-]+$/, { message: "must be an HTTP header name, e.g. X-Forwarded-For" })
    .transform((name) => name.toLowerCase())
    .optional(),
  API_TOKEN_HASHES: hashList.optional(),
  METRICS_TOKEN_HASHES: hashList.optional(),
  DEVICE_TOKEN_HASHES: hashList.optional(),
  OIDC_ISSUER: issuerUrl.optional(),
  OIDC_AUDIENCE: optionalText,
  OIDC_REQUIRED_ROLE: optionalText,
  OIDC_JWKS_COOLDOWN_SECONDS: int(0, 86_400).default(30),
  OIDC_JWKS_URL: issuerUrl.optional(),
  // RFC 9068 access tokens only, so an ID token for the same audience is not taken for one.
  OIDC_TOKEN_TYPES: tokenTypeList.default(["at+jwt"]),
  ALLOWED_HOSTS: hostList.optional(),
  ALLOW_ANONYMOUS_ADMIN: bool.default(false),
  API_DOCS: bool.default(true),
  LOG_LEVEL: z
    .enum(["debug", "info", "warn", "error"], { message: "must be debug, info, warn or error" })
    .default("info"),
} as const;

export type SettingName = keyof typeof SCHEMA;
export const SETTING_NAMES = Object.keys(SCHEMA) as SettingName[];

export interface Settings {
  port: number;
  host: string;
  dataDir: string;
  configsDir: string;
  assetsDir: string;
  /** Server bookkeeping that is never served (used upload signatures); shared by servers sharing the data. */
  stateDir: string;
  signingKeyPath?: string;
  signingKey?: string;
  timestampToleranceSeconds: number;
  corsOrigins: string[];
  /** Selects the notification sink by its scheme; unset: no notifications. */
  notifyUrl?: URL;
  /** The variable that gave notifyUrl (NOTIFY_URL, or its alias MQTT_URL), to name in messages. */
  notifyUrlVariable: "NOTIFY_URL" | "MQTT_URL";
  /** How long shutdown waits for pending notifications. */
  notifyFlushTimeoutMs: number;
  /** How long shutdown waits for requests in progress before it stops waiting. */
  shutdownTimeoutMs: number;
  maxUploadBytes: number;
  maxConfigBytes: number;
  /** Oldest accepted upload signature version (1: timestamp only; 2: timestamp, filename and content). */
  uploadSignatureMinVersion: 1 | 2;
  /** "deny": every accepted signature is refused the next time; "allow": the original's replayable behaviour. */
  uploadSignatureReuse: "deny" | "allow";
  maxConcurrentUploads: number;
  /** Uploads one client address may have in progress before its signature is verified. */
  maxUploadsPerClient: number;
  uploadIdleTimeoutMs: number;
  /** The least rate of a body not yet authenticated (0: none); see core/body-guard.ts. */
  uploadMinBytesPerSecond: number;
  /** Lower-case name of the header a trusted proxy puts the client's address in; unset: the connection's peer. */
  clientIpHeader?: string;
  /** SHA-256 hex digests of accepted admin bearer tokens. */
  apiTokenHashes?: string[];
  metricsTokenHashes?: string[];
  deviceTokenHashes?: string[];
  oidcIssuer?: string;
  oidcAudience?: string;
  oidcRequiredRole?: string;
  oidcJwksCooldownSeconds: number;
  /** Skips discovery: for issuers that publish only a key set (Cloudflare Access). */
  oidcJwksUrl?: string;
  /** Accepted JWT `typ` header values; a token without `typ` counts as `JWT`. */
  oidcTokenTypes: string[];
  allowedHosts?: string[];
  allowAnonymousAdmin: boolean;
  /** Whether the API docs plugin serves /api/docs (Swagger UI) and /api/docs/openapi.json. */
  apiDocs: boolean;
  logLevel: "debug" | "info" | "warn" | "error";
}

function parseOne<K extends SettingName>(name: K, raw: string | undefined): z.output<(typeof SCHEMA)[K]> {
  // An empty variable means "unset", as in most shells' `VAR=` idiom.
  const value = raw === undefined || raw === "" ? undefined : raw;
  const result = SCHEMA[name].safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new SettingsError(name, issue?.message ?? "is invalid");
  }
  return result.data as z.output<(typeof SCHEMA)[K]>;
}

/** Where a data directory is when its own variable is unset: `leaf` under DATA_DIR. */
export const dataSubdirectory = (dataDir: string, leaf: "configs" | "assets" | "state") =>
  `${dataDir.replace(/[/\\]+$/, "")}/${leaf}`;

export function loadSettings(env: Env): Settings {
  const dataDir = parseOne("DATA_DIR", env.DATA_DIR);
  const signingKeyPath = parseOne("SIGNING_KEY_PATH", env.SIGNING_KEY_PATH);
  const signingKey = parseOne("SIGNING_KEY", env.SIGNING_KEY);
  if (signingKeyPath && signingKey) {
    throw new SettingsError("SIGNING_KEY", "set either SIGNING_KEY or SIGNING_KEY_PATH, not both");
  }
  return {
    port: parseOne("PORT", env.PORT),
    host: parseOne("HOST", env.HOST),
    dataDir,
    configsDir: parseOne("ESP32_CONFIGS_DIR", env.ESP32_CONFIGS_DIR) ?? dataSubdirectory(dataDir, "configs"),
    assetsDir: parseOne("ASSETS_DIR", env.ASSETS_DIR) ?? dataSubdirectory(dataDir, "assets"),
    stateDir: parseOne("STATE_DIR", env.STATE_DIR) ?? dataSubdirectory(dataDir, "state"),
    signingKeyPath,
    signingKey,
    timestampToleranceSeconds: parseOne("TIMESTAMP_TOLERANCE_SECONDS", env.TIMESTAMP_TOLERANCE_SECONDS),
    corsOrigins: parseOne("CORS_ORIGINS", env.CORS_ORIGINS),
    ...notifySettings(env),
    maxUploadBytes: parseOne("MAX_UPLOAD_BYTES", env.MAX_UPLOAD_BYTES),
    maxConfigBytes: parseOne("MAX_CONFIG_BYTES", env.MAX_CONFIG_BYTES),
    uploadSignatureMinVersion: parseOne("UPLOAD_SIGNATURE_MIN_VERSION", env.UPLOAD_SIGNATURE_MIN_VERSION) as 1 | 2,
    uploadSignatureReuse: parseOne("UPLOAD_SIGNATURE_REUSE", env.UPLOAD_SIGNATURE_REUSE),
    ...uploadSlotSettings(env),
    uploadIdleTimeoutMs: parseOne("UPLOAD_IDLE_TIMEOUT_MS", env.UPLOAD_IDLE_TIMEOUT_MS),
    uploadMinBytesPerSecond: parseOne("UPLOAD_MIN_BYTES_PER_SECOND", env.UPLOAD_MIN_BYTES_PER_SECOND),
    clientIpHeader: parseOne("CLIENT_IP_HEADER", env.CLIENT_IP_HEADER),
    ...authSettings(env),
    apiDocs: parseOne("API_DOCS", env.API_DOCS),
    logLevel: parseOne("LOG_LEVEL", env.LOG_LEVEL),
  };
}

function uploadSlotSettings(env: Env) {
  const maxConcurrentUploads = parseOne("MAX_CONCURRENT_UPLOADS", env.MAX_CONCURRENT_UPLOADS);
  const perClient = parseOne("MAX_UPLOADS_PER_CLIENT", env.MAX_UPLOADS_PER_CLIENT);
  if (perClient !== undefined && perClient > maxConcurrentUploads) {
    throw new SettingsError(
      "MAX_UPLOADS_PER_CLIENT",
      `${perClient} is more than MAX_CONCURRENT_UPLOADS (${maxConcurrentUploads}); one address could then hold every slot`,
    );
  }
  return { maxConcurrentUploads, maxUploadsPerClient: perClient ?? Math.ceil(maxConcurrentUploads / 2) };
}

/** NOTIFY_URL and its older name MQTT_URL (likewise the flush timeout): either, or both when equal. */
function aliased<K extends SettingName>(name: K, alias: SettingName, env: Env) {
  const value = parseOne(name, env[name]);
  const old = parseOne(alias, env[alias]);
  const text = (v: unknown) => (v instanceof URL ? v.href : v);
  if (value !== undefined && old !== undefined && text(value) !== text(old)) {
    throw new SettingsError(name, `${name} and ${alias} (its older name) are both set, to different values; set one`);
  }
  return { value: value ?? old, variable: value !== undefined || old === undefined ? name : alias };
}

const DEFAULT_FLUSH_TIMEOUT_MS = 5000;

function notifySettings(env: Env) {
  const url = aliased("NOTIFY_URL", "MQTT_URL", env);
  const flush = aliased("NOTIFY_FLUSH_TIMEOUT_MS", "MQTT_FLUSH_TIMEOUT_MS", env);
  return {
    notifyUrl: url.value as URL | undefined,
    notifyUrlVariable: url.variable as "NOTIFY_URL" | "MQTT_URL",
    notifyFlushTimeoutMs: (flush.value as number | undefined) ?? DEFAULT_FLUSH_TIMEOUT_MS,
    shutdownTimeoutMs: parseOne("SHUTDOWN_TIMEOUT_MS", env.SHUTDOWN_TIMEOUT_MS),
  };
}

function authSettings(env: Env) {
  const oidcIssuer = parseOne("OIDC_ISSUER", env.OIDC_ISSUER);
  const oidcAudience = parseOne("OIDC_AUDIENCE", env.OIDC_AUDIENCE);
  const oidcRequiredRole = parseOne("OIDC_REQUIRED_ROLE", env.OIDC_REQUIRED_ROLE);
  if (oidcIssuer && !oidcAudience) {
    throw new SettingsError("OIDC_AUDIENCE", "missing: with OIDC_ISSUER, set the audience your tokens are issued for");
  }
  const oidcTokenTypes = parseOne("OIDC_TOKEN_TYPES", env.OIDC_TOKEN_TYPES);
  const typesSet = env.OIDC_TOKEN_TYPES !== undefined && env.OIDC_TOKEN_TYPES !== "";
  if (!oidcIssuer && (oidcAudience || oidcRequiredRole || typesSet)) {
    const variable = oidcAudience ? "OIDC_AUDIENCE" : oidcRequiredRole ? "OIDC_REQUIRED_ROLE" : "OIDC_TOKEN_TYPES";
    throw new SettingsError(variable, "needs OIDC_ISSUER");
  }
  return {
    apiTokenHashes: parseOne("API_TOKEN_HASHES", env.API_TOKEN_HASHES),
    metricsTokenHashes: parseOne("METRICS_TOKEN_HASHES", env.METRICS_TOKEN_HASHES),
    deviceTokenHashes: parseOne("DEVICE_TOKEN_HASHES", env.DEVICE_TOKEN_HASHES),
    oidcIssuer,
    oidcAudience,
    oidcRequiredRole,
    oidcJwksCooldownSeconds: parseOne("OIDC_JWKS_COOLDOWN_SECONDS", env.OIDC_JWKS_COOLDOWN_SECONDS),
    oidcJwksUrl: parseOne("OIDC_JWKS_URL", env.OIDC_JWKS_URL),
    oidcTokenTypes,
    allowedHosts: parseOne("ALLOWED_HOSTS", env.ALLOWED_HOSTS),
    allowAnonymousAdmin: parseOne("ALLOW_ANONYMOUS_ADMIN", env.ALLOW_ANONYMOUS_ADMIN),
  };
}

/** True when any admin authentication is configured. */
export const adminAuthConfigured = (settings: Settings) => !!settings.apiTokenHashes || !!settings.oidcIssuer;

const REDACTED = "[redacted]";

/** A URL safe to print: user and password replaced, query and fragment dropped (they may carry tokens). */
export function redactUrl(url: URL | undefined): string | undefined {
  if (!url) return undefined;
  const copy = new URL(url.href);
  // Without a host there is no authority, so a mistyped `mqtt:user:pw@host` keeps the credentials in
  // its path, where the username/password setters cannot reach them.
  if (!copy.host && copy.pathname !== "") return `${copy.protocol}${REDACTED}`;
  if (copy.username) copy.username = "redacted";
  if (copy.password) copy.password = "redacted";
  copy.search = "";
  copy.hash = "";
  return copy.href;
}

/**
 * Settings as they may be logged: no password, no key material, no URL credentials, and
 * no broker user name either (some brokers take a token as the user name).
 */
export function redactSettings(settings: Settings): Record<string, unknown> {
  return {
    ...settings,
    notifyUrl: redactUrl(settings.notifyUrl),
    // Token hashes are not tokens, but the contract keeps them out of logs too: only how many.
    apiTokenHashes: settings.apiTokenHashes ? `[${settings.apiTokenHashes.length} hashes]` : undefined,
    metricsTokenHashes: settings.metricsTokenHashes ? `[${settings.metricsTokenHashes.length} hashes]` : undefined,
    deviceTokenHashes: settings.deviceTokenHashes ? `[${settings.deviceTokenHashes.length} hashes]` : undefined,
    signingKey: settings.signingKey ? REDACTED : undefined,
  };
}
