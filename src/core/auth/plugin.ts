/**
 * What an admin-authentication plugin is, like a sink plugin: the settings it reads
 * (declared as data, validated and redacted by the plugin), and the policy it builds from
 * them. The core knows none of its variables; it learns only what it must say or refuse at
 * boot (AdminAccess), and mounts the policy's gates (gate.ts, hosts.ts).
 */
import type { Env, SettingSpecs } from "../setting-spec.js";
import type { AuthPolicy } from "./contract.js";

/**
 * What the core must know of admin authentication, whichever plugin provides it: compose
 * warns about an anonymous admin API, and a Worker refuses to start with one unless meant.
 */
export interface AdminAccess {
  /** The admin API needs credentials. */
  adminCredentialsRequired: boolean;
  /** An anonymous admin API is accepted on purpose (local development). */
  allowAnonymousAdmin: boolean;
}

export interface AuthPlugin<S = unknown> {
  /** Short and stable, for messages. */
  name: string;
  /** The environment variables it reads, declared as data; they belong to it alone. */
  settings: SettingSpecs;
  /** Parses and cross-checks its variables; an invalid one is a SettingsError naming it (one line at boot). */
  load(env: Env): S;
  access(settings: S): AdminAccess;
  /** Its settings as they may be logged at boot: no token, hash or other secret. */
  redact(settings: S): Record<string, unknown>;
  /** Who may call what: one authenticator per protected scope, and the Host allowlist. */
  policy(settings: S): AuthPolicy;
}

/** Keeps the settings' type flowing from `load` to the other parts. */
export const defineAuthPlugin = <S>(plugin: AuthPlugin<S>): AuthPlugin<S> => plugin;
