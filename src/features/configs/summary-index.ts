/**
 * Config summaries remembered between listings, so listing a fleet reads the directory
 * and not every file. An entry stays valid until the driver reports a change to its file
 * (the server's own writes at once; others' where the driver can see them: the
 * filesystem driver watches its directories) and at most a TTL in any case, which
 * bounds what a missed change can cost. While the driver cannot report others' changes
 * (no watcher, or it failed) there is no index: every listing reads every file through
 * the driver, whose own cache bounds staleness.
 */

import type { StorageDriver } from "../../core/storage.js";
import type { ConfigSummary } from "./store.js";

/**
 * How long a summary is trusted without a change report. The index is only used while
 * the driver watches for others' changes, so this only bounds what a change invisible to
 * the watcher costs (a write through a hard link from elsewhere, another host on a network
 * filesystem). Without a watcher every listing goes through the driver's read cache,
 * which sees any change within its own bound (fs-cache.ts, REVALIDATE_MS).
 */
export const INDEX_TTL_MS = 30_000;
/** Most summaries kept; a larger fleet's oldest are read again when listed. */
const INDEX_LIMIT = 200_000;

interface Entry {
  /** null: the file was unreadable (and was logged as such) in this version. */
  summary: ConfigSummary | null;
  at: number;
}

export interface SummaryIndex {
  /** The summary (null: known unreadable), or undefined when it must be read again. */
  get(name: string): ConfigSummary | null | undefined;
  /** Stores what a read that started at `readAt` (from `version()`) found, unless a change came since. */
  set(name: string, summary: ConfigSummary | null, readAt: number): void;
  /** A counter that moves on every change report: a read racing a write does not store a stale summary. */
  version(): number;
  /** Change reports so far: a result built from the index stays valid while this does not move. */
  changes(): number;
  /** Whether a result built at `at` (a `now()` reading) may still be used, changes aside. */
  fresh(at: number): boolean;
  now(): number;
}

export function createSummaryIndex(driver: StorageDriver, now = () => performance.now()): SummaryIndex {
  const entries = new Map<string, Entry>();
  const changedAt = new Map<string, number>();
  let clock = 0;
  let clearedAt = 0;
  let changes = 0;
  const watched = () => driver.onChange !== undefined && driver.watchesOthers?.("configs") === true;
  driver.onChange?.((area, name) => {
    if (area !== "configs") return;
    clock++;
    changes++;
    if (name === undefined) {
      entries.clear();
      changedAt.clear();
      clearedAt = clock;
      return;
    }
    entries.delete(name);
    changedAt.set(name, clock);
    // Only changes newer than every read in progress matter; keep the map from growing forever.
    if (changedAt.size > INDEX_LIMIT) changedAt.clear();
  });

  return {
    get(name) {
      if (!watched()) return undefined;
      const entry = entries.get(name);
      if (!entry) return undefined;
      if (now() - entry.at > INDEX_TTL_MS) {
        entries.delete(name);
        return undefined;
      }
      return entry.summary;
    },
    set(name, summary, readAt) {
      if (!watched() || readAt < clearedAt || (changedAt.get(name) ?? -1) >= readAt) return;
      entries.set(name, { summary, at: now() });
      if (entries.size > INDEX_LIMIT) entries.delete(entries.keys().next().value as string);
    },
    version: () => ++clock,
    changes: () => changes,
    fresh: (at) => watched() && now() - at <= INDEX_TTL_MS,
    now,
  };
}
