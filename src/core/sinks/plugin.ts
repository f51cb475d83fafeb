/**
 * What a sink plugin is: a name, the URL schemes it answers to, the settings it reads
 * (declared as data, the one way every setting is: core/setting-spec.ts), what it needs
 * from the runtime, and a factory. A plugin is one file; registering it is one line in
 * src/plugins/sinks/index.ts, and it then works on every runtime that can run it.
 */
import type { Logger } from "../logger.js";
import type { SettingSpecs, SettingsOf } from "../setting-spec.js";
import type { NotificationSink } from "./contract.js";

/** What a runtime may or may not offer a plugin (the requirement flags of `requires`). */
export const CAPABILITIES = ["tcp", "longLivedConnections", "filesystem"] as const;
export type Capability = (typeof CAPABILITIES)[number];

export interface RuntimeInfo {
  /** For messages: "node", "deno", "bun", "Cloudflare Workers". */
  name: string;
  capabilities: ReadonlySet<Capability>;
  /**
   * Where a runtime cannot keep a connection between requests (Workers), it can still
   * give each request a sink of its own: plugins needing long-lived connections are then
   * run that way (one connection per publishing request, closed once it settles).
   */
  perRequest?: (name: string, open: () => Promise<NotificationSink>) => NotificationSink;
  /**
   * Where something that outlives requests can run the plugin for the runtime (on Workers,
   * a Durable Object, when bound), a sink that hands each notification to it. Preferred
   * over `perRequest`; that host builds the plugin's sink itself, from the same settings.
   */
  hosted?: (name: string) => NotificationSink;
  /** Reads a file a setting names; absent where there is no filesystem. */
  readFile?: (path: string) => Promise<string>;
  /**
   * Said after an unknown scheme where this runtime's build leaves plugins out (Workers
   * carry no plugin that needs raw TCP or a filesystem), so the boot's one line says why.
   */
  leftOut?: string;
}

/** A requirement, and what to suggest on a runtime that cannot meet it. */
export interface Requirement {
  capability: Capability;
  hint?: string;
}

export interface SinkContext<S> {
  /** The sink's URL as configured, credentials included: strip them before connecting or logging. */
  url: URL;
  /** The variable the URL came from (NOTIFY_URL, or its alias MQTT_URL), to name in messages. */
  urlVariable: string;
  settings: S;
  logger: Logger;
  runtime: RuntimeInfo;
}

export interface SinkPlugin<S extends SettingSpecs = SettingSpecs> {
  /** Short and stable: the `sink` label of the metrics and the health body. */
  name: string;
  /** URL schemes without the colon, e.g. ["mqtt", "ws"]. */
  schemes: readonly string[];
  /** The environment variables it reads; they belong to it alone. */
  settings: S;
  /** What it needs from the runtime for this URL; checked before `create`. */
  requires?(url: URL): Requirement[];
  /**
   * Checks the configuration without connecting anywhere; runs at boot on every runtime,
   * also where the sink itself is built later, per request. Throw a SinkConfigError.
   */
  check?(context: SinkContext<SettingsOf<S>>): void | Promise<void>;
  /**
   * Optional: the name of a variable of this plugin's, when it is set to ask for something
   * only this plugin does (MQTT_STATUS_TOPICS=true: receiving over MQTT). With another sink
   * chosen, or none, the boot then stops naming it, rather than silently doing without.
   */
  demands?(settings: SettingsOf<S>): string | undefined;
  /** Builds the sink. Throw a SinkConfigError (or any Error) for a configuration it cannot use: boot stops with one line. */
  create(context: SinkContext<SettingsOf<S>>): NotificationSink | Promise<NotificationSink>;
}

/** Keeps the settings' types flowing from the declaration to `create`. */
export const defineSinkPlugin = <S extends SettingSpecs>(plugin: SinkPlugin<S>): SinkPlugin<S> => plugin;

/**
 * A configuration a plugin cannot use; its message is the one line the boot prints. Its
 * code is INVALID_SINK_SETTING, or UNSUPPORTED_SINK when the setting is valid but the
 * runtime lacks what it needs (the registry raises that one, from `requires`).
 */
export class SinkConfigError extends Error {
  readonly code: "INVALID_SINK_SETTING" | "UNSUPPORTED_SINK";
  constructor(
    readonly variable: string,
    problem: string,
    options: { unsupported?: boolean } = {},
  ) {
    super(`Invalid setting ${variable}: ${problem}`);
    this.name = "SinkConfigError";
    this.code = options.unsupported ? "UNSUPPORTED_SINK" : "INVALID_SINK_SETTING";
  }
}
