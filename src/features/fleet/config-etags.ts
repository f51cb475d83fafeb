/**
 * The ETag a device read would send for each stored config, for the fleet view: 10,000 of
 * them must cost a directory listing, not 10,000 reads. Like the config summaries
 * (configs/summary-index.ts), an ETag is remembered until the driver reports a change to
 * its file — the server's own writes at once, others' where the driver sees them (the
 * filesystem driver's watcher) — and INDEX_TTL_MS at most in any case. While the driver
 * cannot see others' changes nothing is remembered: each ETag comes from the driver's
 * `peek` (memory, current) or a read of its metadata (the body is not read).
 */
import { macOfConfigFile } from "../../core/names.js";
import type { StorageDriver, StoredObject } from "../../core/storage.js";
import { INDEX_TTL_MS } from "../configs/summary-index.js";
import { etagOf } from "../device-reads/http-range.js";

/** Config files read at once when ETags are not known. */
const CONCURRENCY = 16;
/** Most ETags remembered; past it the oldest are read again when asked. */
const LIMIT = 200_000;

export interface ConfigEtags {
  /** MAC → ETag (quotes included) of every stored config. */
  all(): Promise<Map<string, string>>;
  /** The ETag of `mac`'s config, or null when it has none. */
  of(mac: string): Promise<string | null>;
}

const release = async (object: StoredObject) => {
  if (!object.bytes) await object.body.cancel();
};

export function createConfigEtags(driver: StorageDriver, clock: () => number = () => performance.now()): ConfigEtags {
  const known = new Map<string, { etag: string | null; at: number }>();
  /** Moves on every change report: a read that began before a change does not store what it found. */
  let version = 0;
  const changedAt = new Map<string, number>();
  const watched = () => driver.onChange !== undefined && driver.watchesOthers?.("configs") === true;
  driver.onChange?.((area, name) => {
    if (area !== "configs") return;
    version++;
    if (name === undefined) {
      known.clear();
      changedAt.clear();
      changedAt.set("*", version);
      return;
    }
    known.delete(name);
    changedAt.set(name, version);
    if (changedAt.size > LIMIT) changedAt.clear();
  });

  const lookUp = async (name: string): Promise<string | null> => {
    if (watched()) {
      const entry = known.get(name);
      if (entry && clock() - entry.at <= INDEX_TTL_MS) return entry.etag;
    }
    const held = driver.peek?.("configs", name);
    if (held) return etagOf(held.sha256);
    const readAt = ++version;
    const object = await driver.read("configs", name);
    const etag = object ? etagOf(object.sha256) : null;
    if (object) await release(object);
    const changed = Math.max(changedAt.get(name) ?? -1, changedAt.get("*") ?? -1);
    if (watched() && changed < readAt) {
      known.set(name, { etag, at: clock() });
      if (known.size > LIMIT) known.delete(known.keys().next().value as string);
    }
    return etag;
  };

  return {
    async all() {
      const names = (await driver.list("configs")).filter((name) => macOfConfigFile(name) !== undefined);
      const out = new Map<string, string>();
      let next = 0;
      const worker = async () => {
        while (next < names.length) {
          const name = names[next++] as string;
          const etag = await lookUp(name);
          if (etag !== null) out.set(macOfConfigFile(name) as string, etag);
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, names.length) }, worker));
      return out;
    },
    of: (mac) => lookUp(`${mac}.json`),
  };
}
