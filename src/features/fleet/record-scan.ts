/**
 * Reads what other processes (and this one's predecessors) recorded: lists both
 * namespaces and reads only keys not seen before, so a scan of an unchanged fleet costs two
 * listings. Fetch batches are merged device by device (the newest fetch wins); of a
 * device's reports only the newest readable one is read. A fetch batch older than
 * COMPACT_AFTER_MS belongs to a process that stopped (a live one rewrites its own well
 * before): its fetches are taken into this process's own batch and the key is handed back,
 * to be deleted once that batch is written. A record that cannot be read or is damaged is
 * logged once and skipped: records may have been placed by anyone who can write the storage.
 */
import { errorFields, type Logger } from "../../core/logger.js";
import type { StateStore } from "../../core/state.js";
import type { FleetMemory } from "./fleet-memory.js";
import {
  decodeFetches,
  decodeReport,
  FETCHES_NAMESPACE,
  type Fetch,
  parseFetchKey,
  parseReportKey,
  REPORTS_NAMESPACE,
} from "./record-format.js";

/**
 * A fetch batch not rewritten for this long is taken for a stopped process's and merged into
 * the scanning process's own (then deleted). A live process idle that long loses nothing by it:
 * its entries are merged first, and its next batch is read as any other.
 */
export const COMPACT_AFTER_MS = 60 * 60 * 1000;
/** Records read at once during a scan. */
const CONCURRENCY = 8;
/** Damaged reports of one device tried per scan before giving up on older ones until the next. */
const REPORT_TRIES = 16;

export interface ScanOptions {
  state: StateStore;
  memory: FleetMemory;
  logger: Logger;
  now: () => number;
  processId: string;
  /** This process's own fetches; a stopped process's are merged into it. */
  own: Map<string, Fetch>;
  maxDevices: number;
}

export interface Scanner {
  /** Reads what changed since the last scan; the keys of stopped processes' batches now merged into `own`. */
  scan(): Promise<string[]>;
  /** Times of the report records known for `mac` (listed or written here), oldest first. */
  reportTimes(mac: string): number[];
  /** A report this process wrote: its key is known, and need not be read back. */
  wroteReport(mac: string, at: number): void;
  /** Report records of `mac` deleted by this process. */
  forgetReports(mac: string, times: number[]): void;
  /** Stopped processes' batches deleted, once `own` holding their fetches was written. */
  forgetFetches(keys: string[]): void;
}

async function inBatches<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
}

export function createScanner(options: ScanOptions): Scanner {
  const { state, memory, logger, now, processId, own, maxDevices } = options;
  let seenFetches = new Set<string>();
  let seenReports = new Set<string>();
  /** Stopped processes' batches taken into `own`, waiting for `own` to be written. */
  const compacting = new Set<string>();
  const times = new Map<string, number[]>();

  /** A record's bytes, or undefined when it cannot be read (logged: it is skipped, not fatal). */
  const read = async (ns: string, key: string) => {
    try {
      return await state.get(ns, key);
    } catch (error) {
      logger.warn("skipping a fleet record that cannot be read", { ns, key, ...errorFields(error) });
      return undefined;
    }
  };
  const damaged = (ns: string, key: string) =>
    logger.warn("skipping a damaged fleet record (not written by this server, or cut short)", { ns, key });

  const scanFetches = async (keys: string[]) => {
    const fresh: string[] = [];
    const next = new Set<string>();
    for (const key of keys) {
      if (seenFetches.has(key) || compacting.has(key)) {
        next.add(key);
        continue;
      }
      const parsed = parseFetchKey(key);
      if (!parsed) {
        next.add(key);
        damaged(FETCHES_NAMESPACE, key);
        continue;
      }
      if (parsed.processId !== processId) fresh.push(key);
      else next.add(key);
    }
    seenFetches = next;
    const stale = now() - COMPACT_AFTER_MS;
    const compacted: string[] = [];
    let vanished = false;
    await inBatches(fresh, async (key) => {
      seenFetches.add(key);
      const bytes = await read(FETCHES_NAMESPACE, key);
      if (bytes === undefined) return;
      if (bytes === null) {
        // Deleted since the listing: its process wrote a newer batch, which the caller lists again for.
        seenFetches.delete(key);
        vanished = true;
        return;
      }
      const fetches = decodeFetches(bytes, now(), maxDevices);
      if (!fetches) return damaged(FETCHES_NAMESPACE, key);
      const old = (parseFetchKey(key)?.at ?? 0) < stale;
      for (const [mac, fetch] of fetches) {
        if (!memory.noteFetch(mac, fetch) || !old) continue;
        const mine = own.get(mac);
        if (!mine || mine.at < fetch.at) own.set(mac, fetch);
      }
      if (old) {
        compacting.add(key);
        compacted.push(key);
      }
    });
    // Batches seen while fresh and gone stale since: read again to be taken in.
    for (const key of seenFetches) {
      const parsed = parseFetchKey(key);
      if (!parsed || parsed.processId === processId || parsed.at >= stale || compacting.has(key)) continue;
      seenFetches.delete(key);
    }
    return { compacted, vanished };
  };

  const scanReports = async (keys: string[]) => {
    const byMac = new Map<string, number[]>();
    const next = new Set<string>();
    for (const key of keys) {
      const parsed = parseReportKey(key);
      if (!parsed) {
        if (!seenReports.has(key)) damaged(REPORTS_NAMESPACE, key);
        next.add(key);
        continue;
      }
      const list = byMac.get(parsed.mac) ?? [];
      list.push(parsed.at);
      byMac.set(parsed.mac, list);
    }
    const work: Array<{ mac: string; candidates: number[] }> = [];
    for (const [mac, list] of byMac) {
      list.sort((a, b) => a - b);
      times.set(mac, list);
      const known = memory.devices.get(mac)?.report?.at ?? 0;
      const candidates = list.filter((at) => at > known && !seenReports.has(`${mac}.${at}`)).reverse();
      // Candidates not tried in this scan stay unseen, for the next one.
      for (const at of list) if (!candidates.includes(at)) next.add(`${mac}.${at}`);
      if (candidates.length > 0 && memory.hasRoom(mac)) work.push({ mac, candidates });
    }
    for (const mac of times.keys()) if (!byMac.has(mac)) times.delete(mac);
    seenReports = next;
    await inBatches(work, async ({ mac, candidates }) => {
      for (const at of candidates.slice(0, REPORT_TRIES)) {
        const key = `${mac}.${at}`;
        seenReports.add(key);
        const bytes = await read(REPORTS_NAMESPACE, key);
        // null: deleted since the listing (a newer report replaced it); undefined: unreadable, logged.
        if (bytes === null || bytes === undefined) continue;
        const record = decodeReport(bytes, at, now());
        if (record) {
          memory.noteReport(mac, record);
          return;
        }
        damaged(REPORTS_NAMESPACE, key);
      }
    });
  };

  return {
    async scan() {
      const [fetchKeys, reportKeys] = await Promise.all([state.list(FETCHES_NAMESPACE), state.list(REPORTS_NAMESPACE)]);
      const first = await scanFetches(fetchKeys);
      // A batch replaced while this scan read it: its successor is listed now, not a rescan later,
      // so a change is still seen within the flush and rescan intervals.
      const again = first.vanished ? await scanFetches(await state.list(FETCHES_NAMESPACE)) : undefined;
      await scanReports(reportKeys);
      return [...first.compacted, ...(again?.compacted ?? [])];
    },
    reportTimes: (mac) => times.get(mac) ?? [],
    wroteReport(mac, at) {
      seenReports.add(`${mac}.${at}`);
      const list = times.get(mac) ?? [];
      if (!list.includes(at)) list.push(at);
      list.sort((a, b) => a - b);
      times.set(mac, list);
    },
    forgetReports(mac, gone) {
      const list = (times.get(mac) ?? []).filter((at) => !gone.includes(at));
      if (list.length > 0) times.set(mac, list);
      else times.delete(mac);
      for (const at of gone) seenReports.delete(`${mac}.${at}`);
    },
    forgetFetches(keys) {
      for (const key of keys) {
        compacting.delete(key);
        seenFetches.delete(key);
      }
    },
  };
}
