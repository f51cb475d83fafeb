/**
 * The one way a setting is declared, by the core and by every plugin alike: an
 * environment variable's name, a zod schema that parses its text, a one-line description
 * and the default as the README shows it, and whether it is secret. Declared as data, so
 * that one parser validates them, one redaction hides the secret ones, and the README's
 * settings tables are generated from them (`npm run docs:settings`) instead of typed twice.
 */
import type { z } from "zod";

/** The environment as a plain record (process.env, Deno.env, a Worker's bindings). */
export type Env = Record<string, string | undefined>;

export interface SettingSpec {
  /** Parses the variable's text (undefined when unset or empty); its messages follow "Invalid setting NAME: ". */
  schema: z.ZodType<unknown, string | undefined>;
  /** One line for the README settings table (Markdown). */
  description: string;
  /** Never printed (passwords, keys, tokens): redacted wherever settings are logged. */
  secret?: boolean;
  /** The default as the README shows it (Markdown); none: "—". */
  defaultText?: string;
  /** What replaces the env templates' REPLACE_ME placeholder, said when the boot refuses it. */
  fillIn?: string;
}

/** How deploy/'s env templates mark a value the operator must supply: never a valid value. */
export const PLACEHOLDER = "REPLACE_ME";

export type SettingSpecs = Record<string, SettingSpec>;
export type SettingsOf<S extends SettingSpecs> = { [K in keyof S]: z.output<S[K]["schema"]> };

/** An invalid setting; its message is the one line the boot prints. */
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

/** Parses one declared variable; an invalid value is a SettingsError naming it. */
export function parseSetting<S extends SettingSpecs, K extends keyof S & string>(
  specs: S,
  name: K,
  env: Env,
): z.output<S[K]["schema"]> {
  const raw = env[name];
  // Checked before the schema: a text setting (a password) would take the placeholder as its value.
  if (raw?.trim().startsWith(PLACEHOLDER)) {
    const fillIn = specs[name]?.fillIn ?? "the value the comment above it in the env file asks for";
    throw new SettingsError(name, `still the template's placeholder ${PLACEHOLDER}…: replace it with ${fillIn}`);
  }
  // An empty variable means "unset", as in most shells' `VAR=` idiom.
  const result = specs[name]?.schema.safeParse(raw === "" ? undefined : raw);
  if (!result?.success) throw new SettingsError(name, result?.error.issues[0]?.message ?? "is invalid");
  return result.data as z.output<S[K]["schema"]>;
}

/** Parses every declared variable, in declaration order; the first invalid one is a SettingsError naming it. */
export function parseSettings<S extends SettingSpecs>(specs: S, env: Env): SettingsOf<S> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(specs)) out[name] = parseSetting(specs, name, env);
  return out as SettingsOf<S>;
}

export const REDACTED = "[redacted]";

/** Settings as they may be logged: secret ones replaced, unset ones left out. */
export function redactSettingValues(specs: SettingSpecs, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    out[name] = specs[name]?.secret ? REDACTED : value;
  }
  return out;
}
