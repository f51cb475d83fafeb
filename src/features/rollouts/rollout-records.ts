/**
 * How a rollout's definition, events and heartbeat are named and written in the state store
 * (core/state.ts), and read back. Namespace `rollouts` holds the definitions (key: the id
 * padded to 9 digits, immutable); namespace `rollout-<id>` holds the events (`e<seq>`,
 * create-only: the next key can be created by one writer only, which is the engine's only
 * coordination), the part records (rollout-parts.ts) and `hb`. Anyone who can write STATE_DIR
 * (or the bucket) can place files there: every read checks names, types and lengths, and a
 * record that fails is undefined (the caller logs and skips it), never trusted, never fatal.
 */
import { isMac } from "../../core/names.js";
import { jsonBytes, parseJsonRecord } from "../../core/state.js";
import { EVIDENCE, type RolloutSpec } from "./contract.js";

export const DEFINITIONS_NAMESPACE = "rollouts";
/** Ids are 1 … 999,999,999: any other id is simply unknown. */
export const ROLLOUT_ID = /^[1-9][0-9]{0,8}$/;
const DEFINITION_KEY = /^[0-9]{9}$/;
const EVENT_KEY = /^e([0-9]{6})$/;
export const HEARTBEAT_KEY = "hb";
export const MAX_EVENT_SEQ = 999_999;
export const MAX_TARGETS = 100_000;
const MAX_NAME_CHARS = 200;
const MAX_WAVES = 100;

export const logNamespace = (id: number) => `rollout-${id}`;
export const definitionKey = (id: number) => String(id).padStart(9, "0");
export const definitionId = (key: string): number | undefined =>
  DEFINITION_KEY.test(key) && Number(key) > 0 ? Number(key) : undefined;
export const eventKey = (seq: number) => `e${String(seq).padStart(6, "0")}`;
export const eventSeq = (key: string): number | undefined => {
  const match = EVENT_KEY.exec(key);
  return match && Number(match[1]) > 0 ? Number(match[1]) : undefined;
};

/** A definition as stored: the spec with its targets resolved to the MAC list. */
export interface Definition {
  id: number;
  name: string;
  created_at: string;
  spec: Omit<RolloutSpec, "targets"> & { targets: string[] };
}

export interface DecisionCounts {
  applied: number;
  failed: number;
  released: number;
}

/** One event; `at` in ms since the epoch, `by` the process that wrote it. */
export type RolloutEvent = { at: number; by: string } & (
  | ({ type: "release"; wave: number } & Partial<DecisionCounts>)
  | { type: "released"; wave: number }
  | { type: "pause" | "resume" | "abort" | "rollback" }
  | ({ type: "halt" | "complete" } & DecisionCounts)
  | { type: "rolled_back"; skipped: string[] }
  | { type: "takeover"; of: number }
);

export interface Heartbeat {
  by: string;
  at: number;
  seq: number;
}

export const encodeDefinition = (definition: Definition) => jsonBytes(definition);
export const encodeEvent = (event: RolloutEvent) => jsonBytes(event);
export const encodeHeartbeat = (heartbeat: Heartbeat) => jsonBytes(heartbeat);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const count = (v: unknown, max = Number.MAX_SAFE_INTEGER): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v <= max;
const percent = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 100;
const time = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v > 0;
const processName = (v: unknown): v is string => typeof v === "string" && /^[0-9a-f]{1,64}$/.test(v);

function checkSpec(spec: unknown): spec is Definition["spec"] {
  if (!isObject(spec) || !isObject(spec.patch)) return false;
  const { targets, waves, advance_when: advance, halt_when: halt } = spec;
  if (!Array.isArray(targets) || targets.length === 0 || targets.length > MAX_TARGETS) return false;
  if (!targets.every((mac) => typeof mac === "string" && isMac(mac)) || new Set(targets).size !== targets.length) {
    return false;
  }
  if (!Array.isArray(waves) || waves.length === 0 || waves.length > MAX_WAVES || waves.at(-1) !== 100) return false;
  if (!waves.every((p, i) => percent(p) && (i === 0 || p > (waves[i - 1] as number)))) return false;
  if (typeof spec.name !== "string" || !EVIDENCE.includes(spec.evidence as never)) return false;
  if (!isObject(advance) || !percent(advance.applied_percent) || !count(advance.within_s, 366 * 86_400)) return false;
  return isObject(halt) && percent(halt.failed_percent);
}

/** The definition stored under `key`, or undefined when it is damaged or is not what its key says. */
export function decodeDefinition(bytes: Uint8Array | null, key: string): Definition | undefined {
  const value = parseJsonRecord(bytes);
  if (!isObject(value) || value.id !== definitionId(key)) return undefined;
  if (typeof value.name !== "string" || value.name.length > MAX_NAME_CHARS) return undefined;
  if (typeof value.created_at !== "string" || Number.isNaN(Date.parse(value.created_at))) return undefined;
  return checkSpec(value.spec) ? (value as unknown as Definition) : undefined;
}

/** An event, checked field by field; undefined when damaged. `waves`: how many waves the rollout has. */
export function decodeEvent(bytes: Uint8Array | null, waves: number, targets: number): RolloutEvent | undefined {
  const e = parseJsonRecord(bytes);
  if (!isObject(e) || !time(e.at) || !processName(e.by)) return undefined;
  const counts = (c: Record<string, unknown>) =>
    count(c.applied, targets) && count(c.failed, targets) && count(c.released, targets);
  switch (e.type) {
    case "release":
      if (e.applied !== undefined && !counts(e)) return undefined;
      return count(e.wave, waves) && e.wave >= 1 ? (e as RolloutEvent) : undefined;
    case "released":
      return count(e.wave, waves) && e.wave >= 1 ? (e as RolloutEvent) : undefined;
    case "pause":
    case "resume":
    case "abort":
    case "rollback":
      return e as RolloutEvent;
    case "halt":
    case "complete":
      return counts(e) ? (e as RolloutEvent) : undefined;
    case "rolled_back":
      return Array.isArray(e.skipped) &&
        e.skipped.length <= targets &&
        e.skipped.every((m) => typeof m === "string" && isMac(m))
        ? (e as RolloutEvent)
        : undefined;
    case "takeover":
      return count(e.of, MAX_EVENT_SEQ) ? (e as RolloutEvent) : undefined;
    default:
      return undefined;
  }
}

export function decodeHeartbeat(bytes: Uint8Array | null): Heartbeat | undefined {
  const value = parseJsonRecord(bytes);
  if (!isObject(value) || !processName(value.by) || !time(value.at) || !count(value.seq, MAX_EVENT_SEQ))
    return undefined;
  return value as unknown as Heartbeat;
}
