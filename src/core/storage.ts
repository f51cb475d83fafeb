/**
 * The storage plugin interface, and the typed views (configs, assets) the routes use.
 *
 * A driver is a small blob store over two areas laid out like the device-facing
 * directories: `configs/<mac>.json` and `assets/<name>`. It is deliberately small so
 * that an object store (R2) can implement it: read, atomic write, staged (streamed)
 * write, remove, list, and a health check.
 *
 * Checks that are the same for every driver (name validation, JSON parsing,
 * summaries) live here once, not in each driver.
 */
import { AppError, isAppError } from "./errors.js";
import type { StateStore } from "./state.js";

export type Area = "configs" | "assets";

export interface ObjectMeta {
  /** Size of the whole object, even when only a range is read. */
  size: number;
  lastModified: Date;
  /** SHA-256 of the whole object, lower-case hex: the strong ETag of the device-facing reads. */
  sha256: string;
}

export interface StoredObject extends ObjectMeta {
  /** The object's bytes, or only the requested range. Pulled lazily; cancel it if unused. */
  body: ReadableStream<Uint8Array>;
  /** The same bytes, when the driver already holds them in memory (small files): cheaper to send. */
  bytes?: Uint8Array;
  /**
   * A runtime-specific handle on the same bytes (the filesystem driver's open file), for a
   * runtime that can send it faster than a Web stream (see AppDeps.sendNative). Whoever
   * sends it owns it; otherwise `body` is used or cancelled as usual.
   */
  native?: unknown;
  /**
   * The same version limited to `range`, from what this object already holds (its open
   * file, its bytes): a Range answer then costs no second open. Called at most once,
   * instead of using this object's own body. Drivers without it are read again with
   * `ReadOptions.range`.
   */
  part?(range: ByteRange): StoredObject;
}

/** A byte range already checked against the object's size by the caller. */
export interface ByteRange {
  offset: number;
  length: number;
}

export interface ReadOptions {
  range?: ByteRange;
}

/**
 * `created`: no object existed; `replaced`: one was overwritten; `exists`: refused because one exists.
 * "Exists" means exactly "a read would return it", for every operation of a driver: an entry
 * under the name that reads treat as absent (the filesystem driver's links out of the
 * directory, FIFOs) does not make a write `exists` or `replaced`, nor a remove true.
 */
export type WriteOutcome = "created" | "replaced" | "exists";

/** A streamed write that becomes visible all at once on `commit`, or leaves nothing on `abort`. */
export interface StagedWrite {
  write(chunk: Uint8Array): Promise<void>;
  /**
   * SHA-256 (lower-case hex) of everything written, hashed as it streamed, so checking a
   * content-bound signature costs no second read. Ends the writing: call it after the last write.
   */
  digest(): Promise<string>;
  commit(): Promise<{ outcome: Exclude<WriteOutcome, "exists">; size: number }>;
  abort(): Promise<void>;
}

/** A small object's bytes that a driver holds in memory; one object per stored version. */
export interface HeldObject {
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly mtimeMs: number;
}

export interface StorageDriver {
  readonly name: string;
  /** The object, or null when absent. The body must be consumed or cancelled. */
  read(area: Area, name: string, options?: ReadOptions): Promise<StoredObject | null>;
  /**
   * The object from memory when the driver knows, without any I/O, that it is current
   * (the filesystem driver: held and checked within its revalidation bound); undefined
   * means "ask `read`", never "absent". Lets device reads skip the async path entirely.
   */
  peek?(area: Area, name: string): HeldObject | undefined;
  /**
   * Atomic write of a whole object. With `ifAbsent`, exactly one of concurrent creators wins.
   * Throws NAME_OCCUPIED when the name is held by something no read sees that a file cannot replace.
   */
  write(area: Area, name: string, data: Uint8Array, options?: { ifAbsent?: boolean }): Promise<WriteOutcome>;
  /** Starts a streamed write; memory use must not grow with the object's size. */
  stage(area: Area, name: string): Promise<StagedWrite>;
  /** True when an object a read would return was removed; anything else under the name is left alone. */
  remove(area: Area, name: string): Promise<boolean>;
  /** Names of the objects a read would return, in no particular order. */
  list(area: Area): Promise<string[]>;
  /**
   * Records a one-time `key` (lower-case hex, e.g. the hash of a used upload signature)
   * with a create-only marker: true when this call recorded it, false when it was already
   * recorded. Exactly one of concurrent callers gets true, across every process or isolate
   * sharing the storage. The marker keeps its own expiry, `retainSeconds` from now: it is
   * remembered at least that long whatever other callers pass (servers sharing the storage
   * may be set up differently), and forgotten some time after. A marker past its expiry
   * but not yet swept still answers false (its timestamp can no longer pass the check).
   */
  claimOnce(key: string, retainSeconds: number): Promise<boolean>;
  /** Forgets a marker made by `claimOnce` (its upload failed after the claim, so a retry must not be refused). */
  releaseClaim(key: string): Promise<void>;
  /** The server's own records (device tokens, fleet state, rollouts): see core/state.ts. */
  readonly state: StateStore;
  /** Throws a STORAGE_UNAVAILABLE AppError (reason without server paths) when unusable. */
  check(): Promise<void>;
  /**
   * Tells `listener` when an object may have changed — by this driver's own writes, or,
   * where the driver can see them, by anyone else's. Drivers that cannot see changes made
   * by others leave it out, and their users must not cache across requests.
   */
  onChange?(listener: (area: Area, name: string | undefined) => void): () => void;
  /** Whether `onChange` currently reports changes made by others in `area` too (the filesystem driver's watcher). */
  watchesOthers?(area: Area): boolean;
  dispose?(): Promise<void>;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
// Every save hashes its bytes: a table and one string, not an array of 32 strings joined.
export const toHex = (bytes: ArrayBuffer | Uint8Array): string => {
  let out = "";
  for (const b of bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)) out += HEX[b];
  return out;
};

/** SHA-256 of a whole buffer with Web Crypto (for small objects; streamed writes hash incrementally). */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
}

export const storageUnavailable = (reason: string, cause?: unknown) =>
  new AppError("STORAGE_UNAVAILABLE", `Storage unavailable: ${reason}`, { details: { reason }, cause });

export const storageFull = (cause?: unknown) =>
  new AppError("STORAGE_FULL", "Storage is full: nothing was stored; free space on the server and retry", { cause });

/**
 * A write found its name taken by something no read sees and a file cannot replace (a
 * directory): nothing was stored. It is not ours to delete, so the operator must move it.
 * The message names the object, never the server path.
 */
export const nameOccupied = (area: Area, name: string, details: Record<string, unknown> = {}, cause?: unknown) =>
  new AppError(
    "NAME_OCCUPIED",
    `Cannot store ${name}: the ${area} directory holds a directory of that name, which the server does not remove; remove or rename it, then retry`,
    { details, cause },
  );

/** Re-raises a driver's NAME_OCCUPIED with the details the API gives for the record (the driver knows only a name). */
export function rethrowOccupied(error: unknown, details: Record<string, unknown>): never {
  if (isAppError(error) && error.code === "NAME_OCCUPIED") {
    throw new AppError(error.code, error.message, { details, cause: error.cause });
  }
  throw error;
}

/** Keys of one-time markers: hex digests only, so a key can never name a path or an object elsewhere. */
export const CLAIM_KEY = /^[0-9a-f]{16,128}$/;

export async function readAllBytes(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    total += chunk.byteLength;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
