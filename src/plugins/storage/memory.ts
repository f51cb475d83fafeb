/**
 * In-memory storage driver: for tests and throwaway demos. Same contract as the
 * other drivers (it passes the storage conformance suite); staged writes buffer in
 * memory, so it is not meant for large uploads.
 */
import type { Area, ReadOptions, StagedWrite, StorageDriver, StoredObject, WriteOutcome } from "../../core/storage.js";
import { CLAIM_KEY, sha256Hex, storageUnavailable } from "../../core/storage.js";
import { createMemoryState } from "./memory-state.js";

interface Entry {
  bytes: Uint8Array;
  lastModified: Date;
  sha256: string;
}

export interface MemoryStorage extends StorageDriver {
  /** Simulates an outage (health 503, operations fail) for tests. */
  setAvailable(available: boolean): void;
}

export interface MemoryStorageOptions {
  /** Wall clock (ms since the epoch) for the expiry of one-time markers (tests step it); Date.now by default. */
  wallClock?: () => number;
}

export function createMemoryStorage(options: MemoryStorageOptions = {}): MemoryStorage {
  const wallClock = options.wallClock ?? Date.now;
  const areas: Record<Area, Map<string, Entry>> = { configs: new Map(), assets: new Map() };
  /** One-time markers: key → when it expires (ms since the epoch). */
  const claims = new Map<string, number>();
  let available = true;
  const guard = () => {
    if (!available) throw storageUnavailable("memory storage is switched off");
  };
  const bodyOf = (bytes: Uint8Array): ReadableStream<Uint8Array> =>
    new ReadableStream({
      start(controller) {
        if (bytes.length > 0) controller.enqueue(bytes.slice());
        controller.close();
      },
    });

  return {
    name: "memory",
    setAvailable(value) {
      available = value;
    },
    async read(area, name, options: ReadOptions = {}) {
      guard();
      const entry = areas[area].get(name);
      if (!entry) return null;
      const { offset, length } = options.range ?? { offset: 0, length: entry.bytes.length };
      return {
        size: entry.bytes.length,
        lastModified: entry.lastModified,
        sha256: entry.sha256,
        body: bodyOf(entry.bytes.subarray(offset, offset + length)),
      } satisfies StoredObject;
    },
    async write(area, name, data, options = {}): Promise<WriteOutcome> {
      guard();
      const bytes = data.slice();
      const sha256 = await sha256Hex(bytes);
      // Checked after the await, so that concurrent creators cannot both see "absent".
      const existed = areas[area].has(name);
      if (existed && options.ifAbsent) return "exists";
      areas[area].set(name, { bytes, lastModified: new Date(), sha256 });
      return existed ? "replaced" : "created";
    },
    async stage(area, name): Promise<StagedWrite> {
      guard();
      const chunks: Uint8Array[] = [];
      let settled = false;
      let digested = false;
      const joined = () => {
        const size = chunks.reduce((n, c) => n + c.length, 0);
        const bytes = new Uint8Array(size);
        let offset = 0;
        for (const c of chunks) {
          bytes.set(c, offset);
          offset += c.length;
        }
        return { bytes, size };
      };
      return {
        async write(chunk) {
          if (settled || digested) throw new Error("staged write already digested, committed or aborted");
          chunks.push(chunk.slice());
        },
        async digest() {
          digested = true;
          return sha256Hex(joined().bytes);
        },
        async commit() {
          if (settled) throw new Error("staged write already committed or aborted");
          settled = true;
          guard();
          const { bytes, size } = joined();
          const sha256 = await sha256Hex(bytes);
          const existed = areas[area].has(name);
          areas[area].set(name, { bytes, lastModified: new Date(), sha256 });
          return { outcome: existed ? "replaced" : "created", size };
        },
        async abort() {
          settled = true;
          chunks.length = 0;
        },
      };
    },
    async remove(area, name) {
      guard();
      return areas[area].delete(name);
    },
    async list(area) {
      guard();
      return [...areas[area].keys()];
    },
    state: createMemoryState(guard),
    async claimOnce(key, retainSeconds) {
      guard();
      if (!CLAIM_KEY.test(key)) throw new Error("claim keys are hex digests");
      const now = wallClock();
      // Each marker by its own expiry: a short retention passed here never forgets a longer one's.
      for (const [old, expiresAt] of claims) if (expiresAt < now) claims.delete(old);
      if (claims.has(key)) return false;
      claims.set(key, now + retainSeconds * 1000);
      return true;
    },
    async releaseClaim(key) {
      claims.delete(key);
    },
    async check() {
      guard();
    },
  };
}
