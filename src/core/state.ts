/**
 * The server's own small records, kept beside the data but never served: device tokens,
 * what devices fetched and report, rollouts. Every storage driver offers them under the
 * same contract (fs: files under STATE_DIR; R2: objects under a private prefix; memory),
 * shared by every process or isolate on the same storage, and surviving restarts.
 *
 * Records are whole values under a key in a namespace, written atomically (a reader sees
 * the old value or the new one), last writer wins. A namespace whose changes others must
 * see quickly (a revoked token) is written with `track`, which also moves its `version`:
 * a process holding the namespace in memory compares versions instead of reading it all.
 */
import { AppError } from "./errors.js";

export interface StateWriteOptions {
  /** Only when the key is absent: the write answers false, and changes nothing, when it exists. */
  ifAbsent?: boolean;
  /** Also moves the namespace's version, so that others holding it in memory see the change. */
  track?: boolean;
}

export interface StateStore {
  /** The keys in `ns`, in no particular order. */
  list(ns: string): Promise<string[]>;
  /** The value, or null when absent. */
  get(ns: string, key: string): Promise<Uint8Array | null>;
  /** Writes the whole value durably before answering; false only when `ifAbsent` found the key taken. */
  put(ns: string, key: string, value: Uint8Array, options?: StateWriteOptions): Promise<boolean>;
  /** True when something was removed. */
  delete(ns: string, key: string, options?: Pick<StateWriteOptions, "track">): Promise<boolean>;
  /**
   * Changes whenever a tracked write or delete changed `ns`, through any process sharing the
   * storage; an opaque token to compare with an earlier answer ("" before the first change).
   */
  version(ns: string): Promise<string>;
}

/** Namespaces: short lower-case names, so a namespace can never name a path or a prefix elsewhere. */
export const STATE_NAMESPACE = /^[a-z][a-z0-9-]{0,39}$/;
/** Keys: what a MAC, a hash or an id needs, and nothing that could climb out of the namespace. */
export const STATE_KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;
/** The largest value a record may have: these are small records, never files. */
export const MAX_STATE_VALUE_BYTES = 16 * 1024 * 1024;

/** The checks every driver makes before touching its storage (a programming error, never a client's). */
export function checkStateName(ns: string, key?: string): void {
  if (!STATE_NAMESPACE.test(ns)) throw new AppError("INTERNAL_ERROR", `invalid state namespace ${JSON.stringify(ns)}`);
  if (key !== undefined && (!STATE_KEY.test(key) || key.endsWith(".tmp"))) {
    throw new AppError("INTERNAL_ERROR", `invalid state key ${JSON.stringify(key).slice(0, 80)}`);
  }
}

/** Also checks a record read back (only its size is looked at): one larger was not written by a driver. */
export function checkStateValue(value: Pick<Uint8Array, "byteLength">): void {
  if (value.byteLength > MAX_STATE_VALUE_BYTES) {
    throw new AppError("INTERNAL_ERROR", `state record of ${value.byteLength} bytes is over the limit`);
  }
}

export const jsonBytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

/** Parses a record written by jsonBytes; null when it is not JSON (a record damaged by others is skipped, not fatal). */
export function parseJsonRecord(bytes: Uint8Array | null): unknown {
  if (!bytes) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    // Not ours to repair: the caller treats it as absent and says so where it matters.
    return null;
  }
}
