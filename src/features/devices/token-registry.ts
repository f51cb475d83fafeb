/**
 * Every device's token hashes, held in memory so a device read checks its token with no
 * I/O, and kept in the storage's state records (namespace `device-tokens`) so they survive
 * restarts and are shared by every process and isolate on the same storage.
 *
 * One record per token, its key saying everything (`<mac>.<issued ms>.<sha256>`, no value),
 * so the listing is the whole table and every change is a create or a delete — never a
 * read-modify-write that a concurrent revocation could undo.
 * - Issuing adds a token. The device's oldest token (the one it runs on) keeps working; a
 *   token issued earlier and never used is replaced, so a rotation has two tokens at most.
 * - The first use of a newer token deletes the older ones: the rotation is done, and a
 *   device is never locked out in the middle of it.
 * - Revoking deletes them all.
 * Changes are tracked (state `version`): a process looks at the version at most once per
 * REFRESH_MS before it answers, so a revocation anywhere holds everywhere within that bound,
 * and at once in the process that made it.
 */
import { errorFields, type Logger } from "../../core/logger.js";
import type { StateStore } from "../../core/state.js";
import { deviceTokenHash, newDeviceToken } from "./token-format.js";

export const TOKENS_NAMESPACE = "device-tokens";
/** How old the held table may be when a request is answered: the contract's 1 s for revocations elsewhere. */
export const REFRESH_MS = 1000;

interface TokenEntry {
  mac: string;
  issuedAt: number;
  hash: string;
  key: string;
}

const KEY = /^([0-9a-f]{2}(?:-[0-9a-f]{2}){5})\.(\d{1,15})\.([0-9a-f]{64})$/;

function entryOf(key: string): TokenEntry | undefined {
  const match = KEY.exec(key);
  if (!match) return undefined;
  return { mac: match[1] as string, issuedAt: Number(match[2]), hash: match[3] as string, key };
}

export interface DeviceTokens {
  /** The MAC a token belongs to, from memory; undefined for an unknown token. Starts a pending rotation's end. */
  macOf(token: string): string | undefined;
  /** A promise to wait for when the held table is older than REFRESH_MS; undefined when it is fresh. */
  freshness(): Promise<void> | undefined;
  issue(mac: string): Promise<{ token: string; issuedAt: Date }>;
  /** Deletes every token of `mac`; how many there were. */
  revoke(mac: string): Promise<number>;
  /** Devices with at least one token. */
  devices(): number;
  /** Resolves when the background deletions of rotated tokens started so far are done (shutdown, tests). */
  settled(): Promise<void>;
}

export function createDeviceTokens(options: { state: StateStore; logger: Logger; now?: () => number }): DeviceTokens {
  const { state, logger } = options;
  const now = options.now ?? Date.now;
  let byHash = new Map<string, TokenEntry>();
  let byMac = new Map<string, TokenEntry[]>();
  let version: string | undefined;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let refreshing: Promise<void> | undefined;
  // Refreshes, issues and revocations run one after another: a refresh listing storage while a
  // token is issued must not put back the table from before it.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = chain.then(work);
    // The caller sees a failure; the queue goes on with the next.
    chain = run.catch(() => undefined);
    return run;
  };
  /** Deletions of rotated tokens still running (settled() waits for them). */
  const background = new Set<Promise<void>>();
  /** Hashes of presented tokens, so a device polling with its token pays for one hash, not one per request. */
  const hashes = new Map<string, string>();

  const rebuild = (keys: string[]) => {
    const nextByHash = new Map<string, TokenEntry>();
    const nextByMac = new Map<string, TokenEntry[]>();
    for (const key of keys) {
      const entry = entryOf(key);
      if (!entry) continue;
      nextByHash.set(entry.hash, entry);
      const list = nextByMac.get(entry.mac) ?? [];
      list.push(entry);
      nextByMac.set(entry.mac, list);
    }
    for (const list of nextByMac.values()) list.sort((a, b) => a.issuedAt - b.issuedAt);
    byHash = nextByHash;
    byMac = nextByMac;
  };

  const refresh = async () => {
    const seen = await state.version(TOKENS_NAMESPACE);
    if (seen !== version) {
      // The listing is taken after the version: a change in between is seen at the next look.
      rebuild(await state.list(TOKENS_NAMESPACE));
      version = seen;
    }
    checkedAt = now();
  };

  const remove = async (entries: TokenEntry[]) => {
    for (const entry of entries) {
      byHash.delete(entry.hash);
      await state.delete(TOKENS_NAMESPACE, entry.key, { track: true });
    }
  };

  /** A newer token was used: its older ones go, here at once and in storage in the background. */
  const endRotation = (entry: TokenEntry) => {
    const list = byMac.get(entry.mac) ?? [];
    const older = list.filter((e) => e.issuedAt < entry.issuedAt);
    if (older.length === 0) return;
    byMac.set(
      entry.mac,
      list.filter((e) => e.issuedAt >= entry.issuedAt),
    );
    for (const e of older) byHash.delete(e.hash);
    const done = remove(older).catch((error: unknown) =>
      // The older token stays in storage and works again after the next refresh: the rotation ends at its next use.
      logger.warn("could not delete a rotated device token", { mac_address: entry.mac, ...errorFields(error) }),
    );
    background.add(done);
    void done.finally(() => background.delete(done));
  };

  return {
    macOf(token) {
      let hash = hashes.get(token);
      if (hash === undefined) {
        hash = deviceTokenHash(token);
        const entry = byHash.get(hash);
        // Only tokens that were valid are remembered, so a flood of wrong ones cannot fill the map.
        if (entry) {
          hashes.set(token, hash);
          if (hashes.size > 100_000) hashes.delete(hashes.keys().next().value as string);
        }
      }
      const entry = byHash.get(hash);
      if (entry) endRotation(entry);
      return entry?.mac;
    },

    freshness() {
      if (now() - checkedAt < REFRESH_MS) return undefined;
      refreshing ??= serial(refresh).finally(() => {
        refreshing = undefined;
      });
      return refreshing;
    },

    issue: (mac) =>
      serial(async () => {
        await refresh();
        const token = newDeviceToken();
        const issuedAt = Math.max(now(), (byMac.get(mac)?.at(-1)?.issuedAt ?? 0) + 1);
        const entry = entryOf(`${mac}.${issuedAt}.${deviceTokenHash(token)}`) as TokenEntry;
        await state.put(TOKENS_NAMESPACE, entry.key, new Uint8Array(0), { track: true });
        const list = byMac.get(mac) ?? [];
        // The oldest stays (the device runs on it); one issued since and never used is replaced by this one.
        const replaced = list.slice(1);
        await remove(replaced);
        byMac.set(mac, [...list.slice(0, 1), entry]);
        byHash.set(entry.hash, entry);
        return { token, issuedAt: new Date(issuedAt) };
      }),

    revoke: (mac) =>
      serial(async () => {
        await refresh();
        const list = byMac.get(mac) ?? [];
        byMac.delete(mac);
        await remove(list);
        return list.length;
      }),

    devices: () => byMac.size,

    async settled() {
      await Promise.all([...background]);
    },
  };
}
