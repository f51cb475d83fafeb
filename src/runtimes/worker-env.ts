/**
 * The Worker's bindings as settings: shared by the Worker (worker.ts) and the notification
 * hub (worker-hub.ts), which is built from the same bindings and must read them the same
 * way, refusals included.
 */
import type { R2Bucket } from "@cloudflare/workers-types/2023-07-01/index.js";
import type { Env } from "../core/settings.js";
import type { AssetsBinding } from "../plugins/docs/assets-binding.js";
import { BootError } from "./boot-failure.js";
import type { HubNamespace } from "./worker-hub-sink.js";
import type { RolloutDriverNamespace } from "./worker-rollouts.js";

export interface WorkerEnv {
  BUCKET?: R2Bucket;
  /** The notification hub's Durable Object namespace; absent: notifications run per request. */
  NOTIFY_HUB?: HubNamespace;
  /** The rollout driver's Durable Object namespace; absent: rollouts routes answer 503. */
  ROLLOUTS?: RolloutDriverNamespace;
  /** wrangler.toml's [assets]: the swagger-ui-dist package, for the API docs. */
  ASSETS?: AssetsBinding;
  [name: string]: unknown;
}

export const RUNTIME = "Cloudflare Workers";
/** Why a scheme of a plugin listed in plugins/sinks/server.ts is unknown here (RuntimeInfo.leftOut). */
export const LEFT_OUT =
  "sink plugins that need raw TCP or a filesystem are not part of the Worker (src/plugins/sinks/server.ts)";
/** Settings about files and sockets of a server process: meaningless on Workers, ignored. */
const NOT_ON_WORKERS = ["PORT", "HOST", "DATA_DIR", "ESP32_CONFIGS_DIR", "ASSETS_DIR", "STATE_DIR"];
/** Settings that name a file: there is no filesystem, so they are refused with what to use instead. */
const FILE_SETTINGS: Record<string, string> = {
  SIGNING_KEY_PATH: "there is no filesystem on Workers; give the PEM itself as the secret SIGNING_KEY",
  MQTT_CA_FILE: "there is no filesystem on Workers, and outbound WebSockets trust public CAs only",
};
/** Sink settings Workers cannot honour (their outbound TLS is the platform's). */
const REFUSED: Record<string, string> = {
  MQTT_CA: "outbound WebSockets on Workers trust public CAs only",
  MQTT_TLS_INSECURE: "Workers always verify TLS certificates",
};

/** Vars and secrets are strings (a `[vars]` value may be a TOML number or boolean); bindings are skipped. */
export function settingsEnv(env: WorkerEnv): Env {
  const out: Env = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === "string") out[name] = value;
    else if (typeof value === "number" || typeof value === "boolean") out[name] = String(value);
  }
  for (const name of NOT_ON_WORKERS) delete out[name];
  for (const [name, why] of Object.entries(FILE_SETTINGS)) {
    if (out[name]) throw BootError.setting(name, `not supported: ${why}`, "UNSUPPORTED_SETTING");
  }
  for (const [name, why] of Object.entries(REFUSED)) {
    if (out[name] && out[name] !== "false") {
      throw BootError.setting(name, `not supported: ${why}`, "UNSUPPORTED_SETTING");
    }
  }
  return out;
}
