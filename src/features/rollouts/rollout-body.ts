/**
 * Checks a parsed `POST /api/rollouts` body and turns it into a RolloutSpec. Strict: an
 * unknown field at any level, a value of the wrong type (a number sent as a string, 1.5
 * where an integer goes), or a value out of range is 400 VALIDATION_FAILED, and
 * `details.field` names the first one at fault as a path (`advance_when.within_s`,
 * `targets[3]`, `waves[0]`). `advance_when` and `halt_when` are required: a rollout that
 * could never advance or never halt by itself is not what one asks for by leaving them out.
 * Nothing here touches storage; whether each target has a config is the engine's question.
 */
import { validationFailed } from "../../core/errors.js";
import { isMac } from "../../core/names.js";
import { nestsWithin } from "../configs/schemas.js";
import { EVIDENCE, type Evidence, type RolloutSpec } from "./contract.js";

export const MAX_NAME_CHARS = 100;
/** A patch names what changes (a firmware's url, sha256, size, version), not a whole config. */
export const MAX_PATCH_BYTES = 64 * 1024;
export const MAX_PATCH_DEPTH = 32;
export const MAX_TARGETS = 100_000;
export const MAX_WAVES = 20;
/** A week: the longest a device may take to apply a released config before it counts as failed. */
export const MAX_WITHIN_S = 604_800;

/**
 * The largest create body accepted: 100,000 targets of 20 bytes each fit in 2 MiB, and a
 * server allowing larger configs allows bodies as large (413 PAYLOAD_TOO_LARGE above).
 */
export const rolloutBodyLimit = (maxConfigBytes: number): number => Math.max(maxConfigBytes, 2 * 1024 * 1024);

type Fields = Record<string, unknown>;

const refuse = (field: string, problem: string) => validationFailed(`Invalid rollout: ${field} ${problem}`, { field });

const isObject = (value: unknown): value is Fields =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Refuses any member of `object` not in `known`, naming it under `prefix`. */
function onlyKnown(object: Fields, known: readonly string[], prefix = ""): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) throw refuse(`${prefix}${key}`, "is not a known field");
  }
}

/** The member `key` of `object`, required to be an object with only `known` members. */
function section(object: Fields, key: string, known: readonly string[]): Fields {
  const value = object[key];
  if (!isObject(value)) throw refuse(key, "must be an object");
  onlyKnown(value, known, `${key}.`);
  return value;
}

/** A JSON number that is an integer in [min, max]; never a string, a boolean or a fraction. */
function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw refuse(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * Control, format (bidirectional overrides, zero-width characters), line and paragraph
 * separators and lone surrogates: a name is shown in lists and on terminals (the CLI), where
 * each of these hides or rearranges what is displayed.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

function readName(value: unknown): string {
  if (typeof value !== "string") throw refuse("name", "must be a string");
  const chars = [...value].length;
  if (chars === 0 || value.trim() === "" || chars > MAX_NAME_CHARS) {
    throw refuse("name", `must have 1 to ${MAX_NAME_CHARS} characters, not only spaces`);
  }
  if (HIDDEN.test(value)) throw refuse("name", "must not contain control, format or separator characters");
  return value;
}

function readPatch(value: unknown): Record<string, unknown> {
  if (!isObject(value)) throw refuse("patch", "must be a JSON object (a merge patch, RFC 7386)");
  if (Object.keys(value).length === 0) throw refuse("patch", "must change something: it is empty");
  // Depth first: JSON.stringify recurses and would overflow on a deep enough value.
  if (!nestsWithin(value, MAX_PATCH_DEPTH)) {
    throw refuse("patch", `must not nest arrays and objects more than ${MAX_PATCH_DEPTH} levels deep`);
  }
  if (new TextEncoder().encode(JSON.stringify(value)).length > MAX_PATCH_BYTES) {
    throw refuse("patch", `must be at most ${MAX_PATCH_BYTES} bytes as JSON`);
  }
  return value;
}

function readTargets(value: unknown): string[] | "all" {
  if (value === "all") return "all";
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_TARGETS) {
    throw refuse("targets", `must be "all" or a list of 1 to ${MAX_TARGETS} MAC addresses`);
  }
  const seen = new Set<string>();
  return value.map((entry: unknown, i) => {
    const mac = typeof entry === "string" ? entry.toLowerCase() : undefined;
    if (mac === undefined || !isMac(mac)) {
      throw refuse(`targets[${i}]`, "must be a MAC address: six hex pairs separated by dashes, e.g. aa-bb-cc-dd-ee-ff");
    }
    if (seen.has(mac)) throw refuse(`targets[${i}]`, `repeats ${mac}`);
    seen.add(mac);
    return mac;
  });
}

function readWaves(value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_WAVES) {
    throw refuse("waves", `must be a list of 1 to ${MAX_WAVES} cumulative percentages`);
  }
  const waves = value.map((p: unknown, i) => integer(p, `waves[${i}]`, 1, 100));
  waves.forEach((p, i) => {
    if (i > 0 && p <= (waves[i - 1] as number)) throw refuse(`waves[${i}]`, "must be greater than the wave before it");
  });
  if (waves[waves.length - 1] !== 100)
    throw refuse(`waves[${waves.length - 1}]`, "must be 100: the last wave is every target");
  return waves;
}

function readEvidence(value: unknown): Evidence {
  if (value === undefined) return "report";
  if (typeof value !== "string" || !(EVIDENCE as readonly string[]).includes(value)) {
    throw refuse("evidence", `must be one of ${EVIDENCE.join(", ")}`);
  }
  return value as Evidence;
}

const FIELDS = ["name", "patch", "targets", "waves", "evidence", "advance_when", "halt_when"] as const;

/** The body of a create request as a RolloutSpec, or AppError VALIDATION_FAILED naming the field at fault. */
export function readRolloutBody(raw: unknown): RolloutSpec {
  if (!isObject(raw)) throw refuse("body", "must be a JSON object");
  onlyKnown(raw, FIELDS);
  const name = readName(raw.name);
  const patch = readPatch(raw.patch);
  const targets = readTargets(raw.targets);
  const waves = readWaves(raw.waves);
  const evidence = readEvidence(raw.evidence);
  const advance = section(raw, "advance_when", ["applied_percent", "within_s"]);
  const halt = section(raw, "halt_when", ["failed_percent"]);
  return {
    name,
    patch,
    targets,
    waves,
    evidence,
    advance_when: {
      applied_percent: integer(advance.applied_percent, "advance_when.applied_percent", 1, 100),
      within_s: integer(advance.within_s, "advance_when.within_s", 1, MAX_WITHIN_S),
    },
    halt_when: { failed_percent: integer(halt.failed_percent, "halt_when.failed_percent", 1, 100) },
  };
}
