/**
 * The core's own environment variables, declared as SettingSpecs like every plugin's: what
 * settings.ts parses, and what the README's settings table is generated from. Admin
 * authentication's variables are the auth plugin's (src/plugins/auth/settings.ts), each sink's
 * its plugin's; none of them is here.
 */
import { z } from "zod";
import type { SettingSpecs } from "./setting-spec.js";
import { bool, int, mqttUrl, optionalText, origins, pem } from "./setting-types.js";
import { MAX_TIMESTAMP_TOLERANCE_SECONDS } from "./signature-retention.js";

export const CORE_SETTINGS = {
  PORT: {
    schema: int(0, 65535).default(3201),
    description: "the port the server listens on (`0` picks a free port)",
    defaultText: "`3201`",
  },
  HOST: {
    schema: z.string().trim().min(1).default("127.0.0.1"),
    description: "the address the server listens on",
    defaultText: "`127.0.0.1`",
  },
  DATA_DIR: {
    schema: z.string().trim().min(1).default("./data"),
    description: "base directory for the defaults below and the development key",
    defaultText: "`./data`",
  },
  ESP32_CONFIGS_DIR: {
    schema: optionalText,
    description: "directory of device configs, created at start if missing",
    defaultText: "`$DATA_DIR/configs`",
  },
  ASSETS_DIR: {
    schema: optionalText,
    description: "directory of uploaded assets, created at start if missing",
    defaultText: "`$DATA_DIR/assets`",
  },
  STATE_DIR: {
    schema: optionalText,
    description:
      'the server\'s own bookkeeping, never served: used upload signatures, device tokens, what devices fetched and report. Servers that share their data directories must share this one too, and should use the same `TIMESTAMP_TOLERANCE_SECONDS` (see "Storage layout"). `ESP32_CONFIGS_DIR`, `ASSETS_DIR` and `STATE_DIR` must be three separate directories, none inside another (compared after resolving links), else the boot stops naming both',
    defaultText: "`$DATA_DIR/state`",
  },
  SIGNING_KEY_PATH: {
    schema: optionalText,
    description:
      "PEM file: RSA private key (PKCS#1 or PKCS#8) or RSA public key (SPKI or PKCS#1); only the public half is used. At least 2048 bits, with an odd public exponent of at least 65537 (with e = 1 anyone could forge a signature); else the boot stops",
    defaultText: "dev key under `$DATA_DIR`",
  },
  SIGNING_KEY: {
    schema: pem.optional(),
    description: "the same PEM as text (for runtimes without a filesystem); not together with `SIGNING_KEY_PATH`",
    secret: true,
  },
  TIMESTAMP_TOLERANCE_SECONDS: {
    schema: int(0, MAX_TIMESTAMP_TOLERANCE_SECONDS).default(300),
    description: "allowed clock drift of an upload's timestamp",
    defaultText: "`300`",
  },
  CORS_ORIGINS: {
    schema: origins.default(["http://localhost:3000"]),
    description: "allowed browser origins: JSON array or comma list; `*` for any",
    defaultText: '`["http://localhost:3000"]`',
  },
  NOTIFY_URL: {
    schema: mqttUrl.optional(),
    description:
      "selects the notification sink by its scheme: unset → none; `mqtt://`, `mqtts://`, `ws://`, `wss://` → MQTT broker; `http://`, `https://` → webhook; `console:` → JSON lines on stdout",
    defaultText: "unset",
  },
  // The older name of NOTIFY_URL, kept so existing deployments notice nothing.
  MQTT_URL: {
    schema: mqttUrl.optional(),
    description: "the older name of `NOTIFY_URL`, same meaning (both set to different values: boot error)",
    defaultText: "unset",
  },
  NOTIFY_FLUSH_TIMEOUT_MS: {
    schema: int(0).optional(),
    description: "how long shutdown waits for pending notifications (`MQTT_FLUSH_TIMEOUT_MS` is its older name)",
    defaultText: "`5000`",
  },
  MQTT_FLUSH_TIMEOUT_MS: {
    schema: int(0).optional(),
    description: "the older name of `NOTIFY_FLUSH_TIMEOUT_MS`, same meaning (both set to different values: boot error)",
    defaultText: "`5000`",
  },
  SHUTDOWN_TIMEOUT_MS: {
    schema: int(0).default(5000),
    description: "how long shutdown waits for requests in progress before flushing notifications",
    defaultText: "`5000`",
  },
  MAX_UPLOAD_BYTES: {
    schema: int(1).default(104_857_600),
    description:
      "largest accepted upload body (the whole multipart body, fields included); larger → 413, nothing written",
    defaultText: "`104857600`",
  },
  MAX_CONFIG_BYTES: {
    schema: int(1).default(1_048_576),
    description: "largest config, both as sent and as stored (two-space indented JSON); larger → 413",
    defaultText: "`1048576`",
  },
  UPLOAD_SIGNATURE_MIN_VERSION: {
    schema: z.enum(["1", "2"], { message: "must be 1 or 2" }).transform(Number).default(1),
    description: "oldest accepted upload signature version: `1` (timestamp only) or `2` (timestamp, filename, content)",
    defaultText: "`1`",
  },
  UPLOAD_SIGNATURE_REUSE: {
    schema: z
      .enum(["deny", "allow"], { message: "must be deny (each signature accepted once) or allow" })
      .default("deny"),
    description:
      "`deny`: each upload signature is accepted once; `allow`: the original's behaviour (replayable while the timestamp is valid; warned at boot)",
    defaultText: "`deny`",
  },
  MAX_CONCURRENT_UPLOADS: {
    schema: int(1, 10_000).default(8),
    description:
      "uploads in progress at once (per process; per isolate on Workers), and likewise config bodies still arriving after 2 s; past it 503 `SERVER_BUSY` with `Retry-After`",
    defaultText: "`8`",
  },
  MAX_UPLOADS_PER_CLIENT: {
    schema: int(1, 10_000).optional(),
    description:
      "uploads one client address (an IPv6 client by its /64) may have in progress before their signature is verified, and likewise slow config bodies without admin authentication; past it 503 `SERVER_BUSY`. An upload whose version 1 fields come before the file is verified before its file and leaves the share",
    defaultText: "half of `MAX_CONCURRENT_UPLOADS`, rounded up",
  },
  UPLOAD_MIN_BYTES_PER_SECOND: {
    schema: int(0, 1_073_741_824).default(1024),
    description:
      "the least rate an upload must keep until its signature is verified (and a config body without admin authentication), judged over each 10 s of waiting for it; slower is cut (408 `REQUEST_TIMEOUT`) and discarded. `0` turns it off",
    defaultText: "`1024`",
  },
  UPLOAD_IDLE_TIMEOUT_MS: {
    schema: int(100).default(30_000),
    description:
      "an upload or config body that sends nothing for this long is cut (408) and discarded; there is no limit on the total time of a moving upload",
    defaultText: "`30000`",
  },
  CLIENT_IP_HEADER: {
    schema: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9-]+$/, { message: "must be an HTTP header name, e.g. X-Forwarded-For" })
      .transform((name) => name.toLowerCase())
      .optional(),
    description:
      "behind a reverse proxy: the header it writes the client's address into (`X-Forwarded-For`, `X-Real-IP`); only its last entry is believed. Unset: the connection's peer address (on Workers: `CF-Connecting-IP`). Used for the per-client share",
  },
  DEVICE_READ_MISS_LIMIT: {
    schema: int(0, 10_000_000).default(1000),
    description:
      "with `DEVICE_AUTH=open`: device reads that find no config (404) one client address may make in a minute; past it, its device reads are 429 with `Retry-After` until its minute is over. `0` turns it off",
    defaultText: "`1000`",
  },
  API_DOCS: {
    schema: bool.default(true),
    description:
      "`true` serves the interactive API docs (`/api/docs`, Swagger UI from this server) and `/api/docs/openapi.json`; `false` leaves them out (404)",
    defaultText: "`true`",
  },
  LOG_LEVEL: {
    schema: z
      .enum(["debug", "info", "warn", "error"], { message: "must be debug, info, warn or error" })
      .default("info"),
    description: "`debug`, `info`, `warn` or `error` (logs are JSON lines on stdout)",
    defaultText: "`info`",
  },
} satisfies SettingSpecs;

export type CoreSettingName = keyof typeof CORE_SETTINGS;
