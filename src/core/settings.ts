/**
 * Environment → the core's validated settings, from its declarations (core-settings.ts).
 * Runtime-neutral: the caller passes the environment as a plain record (process.env,
 * Deno.env, Worker bindings). An invalid value raises SettingsError naming the variable,
 * so the entry point can print one line and exit non-zero. Admin authentication's settings
 * are its plugin's; of them the core keeps only AdminAccess (see auth/plugin.ts).
 */
import type { AdminAccess } from "./auth/plugin.js";
import { CORE_SETTINGS, type CoreSettingName } from "./core-settings.js";
import { type Env, parseSetting, REDACTED, SettingsError } from "./setting-spec.js";
import { isLoopbackHost } from "./setting-types.js";

export { type Env, isLoopbackHost, SettingsError };

export type SettingName = CoreSettingName;
export const SETTING_NAMES = Object.keys(CORE_SETTINGS) as SettingName[];

/** The core's own settings, as loadSettings reads them. */
export interface CoreSettings {
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
  /** Uploads one client address may have in progress before their signature is verified. */
  maxUploadsPerClient: number;
  uploadIdleTimeoutMs: number;
  /** The least rate of a body not yet authenticated (0: none); see core/body-guard.ts. */
  uploadMinBytesPerSecond: number;
  /** Lower-case name of the header a trusted proxy puts the client's address in; unset: the connection's peer. */
  clientIpHeader?: string;
  /** Device-read 404s per client address and minute in open mode (0: no limit). */
  deviceReadMissLimit: number;
  /** Whether the API docs plugin serves /api/docs (Swagger UI) and /api/docs/openapi.json. */
  apiDocs: boolean;
  logLevel: "debug" | "info" | "warn" | "error";
}

/** What the runtimes and compose work from: the core's settings, and what the auth plugin tells the core. */
export interface Settings extends CoreSettings, AdminAccess {}

const parseOne = <K extends SettingName>(name: K, env: Env) => parseSetting(CORE_SETTINGS, name, env);

/** Where a data directory is when its own variable is unset: `leaf` under DATA_DIR. */
export const dataSubdirectory = (dataDir: string, leaf: "configs" | "assets" | "state") =>
  `${dataDir.replace(/[/\\]+$/, "")}/${leaf}`;

export function loadSettings(env: Env): CoreSettings {
  const dataDir = parseOne("DATA_DIR", env);
  const signingKeyPath = parseOne("SIGNING_KEY_PATH", env);
  const signingKey = parseOne("SIGNING_KEY", env);
  if (signingKeyPath && signingKey) {
    throw new SettingsError("SIGNING_KEY", "set either SIGNING_KEY or SIGNING_KEY_PATH, not both");
  }
  return {
    port: parseOne("PORT", env),
    host: parseOne("HOST", env),
    dataDir,
    configsDir: parseOne("ESP32_CONFIGS_DIR", env) ?? dataSubdirectory(dataDir, "configs"),
    assetsDir: parseOne("ASSETS_DIR", env) ?? dataSubdirectory(dataDir, "assets"),
    stateDir: parseOne("STATE_DIR", env) ?? dataSubdirectory(dataDir, "state"),
    signingKeyPath,
    signingKey,
    timestampToleranceSeconds: parseOne("TIMESTAMP_TOLERANCE_SECONDS", env),
    corsOrigins: parseOne("CORS_ORIGINS", env),
    ...notifySettings(env),
    maxUploadBytes: parseOne("MAX_UPLOAD_BYTES", env),
    maxConfigBytes: parseOne("MAX_CONFIG_BYTES", env),
    uploadSignatureMinVersion: parseOne("UPLOAD_SIGNATURE_MIN_VERSION", env) as 1 | 2,
    uploadSignatureReuse: parseOne("UPLOAD_SIGNATURE_REUSE", env),
    ...uploadSlotSettings(env),
    uploadIdleTimeoutMs: parseOne("UPLOAD_IDLE_TIMEOUT_MS", env),
    uploadMinBytesPerSecond: parseOne("UPLOAD_MIN_BYTES_PER_SECOND", env),
    clientIpHeader: parseOne("CLIENT_IP_HEADER", env),
    deviceReadMissLimit: parseOne("DEVICE_READ_MISS_LIMIT", env),
    apiDocs: parseOne("API_DOCS", env),
    logLevel: parseOne("LOG_LEVEL", env),
  };
}

function uploadSlotSettings(env: Env) {
  const maxConcurrentUploads = parseOne("MAX_CONCURRENT_UPLOADS", env);
  const perClient = parseOne("MAX_UPLOADS_PER_CLIENT", env);
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
  const value = parseOne(name, env);
  const old = parseOne(alias, env);
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
    shutdownTimeoutMs: parseOne("SHUTDOWN_TIMEOUT_MS", env),
  };
}

/** True when the auth plugin says the admin API needs credentials. */
export const adminAuthConfigured = (settings: AdminAccess) => settings.adminCredentialsRequired;

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
 * The core's settings as they may be logged: no key material and no URL credentials. The
 * plugins' settings (the broker's user name and password, token hashes) are redacted by theirs.
 */
export function redactSettings(settings: CoreSettings): Record<string, unknown> {
  return {
    ...settings,
    notifyUrl: redactUrl(settings.notifyUrl),
    signingKey: settings.signingKey ? REDACTED : undefined,
  };
}
