/**
 * The FleetRecorder (contract.ts) over the state store, and what the fleet view reads.
 *
 * Fetches: a device read records into memory only (a Map write: the read path pays no I/O).
 * This process's fetches are written as ONE record, under a new key `<process id>.<ms>`,
 * at most once per FLUSH_MS and only when something changed, and its previous key is then
 * deleted (record-format.ts). A fleet of any size thus costs one storage write per process
 * per FLUSH_MS, far under SPEC's one per device per 10 s; `kill -9` loses at most the
 * fetches of the last FLUSH_MS, and a graceful stop writes them (close()).
 *
 * Reports: one record per report, `<mac>.<ms>`, written durably before `reported` resolves
 * (a 204 survives kill -9); the device's older records are deleted afterwards, in the
 * background (a failure is logged: the reader takes the newest anyway).
 *
 * Others' records are read by a scan (record-scan.ts) at most once per RESCAN_MS, when
 * someone asks (the view, the metrics): with their flush, a change anywhere is seen within
 * FLUSH_MS + RESCAN_MS = 9 s plus the time to write and read, inside SPEC's 10 s. No
 * background timer is needed for it, which suits Workers;
 * the flush timer is unref'd (it never holds a process up) and, where the runtime has
 * `track` (Workers: waitUntil), handed to the request that armed it.
 */
import { AppError } from "../../core/errors.js";
import { errorFields, type Logger } from "../../core/logger.js";
import type { OperationObserver } from "../../core/observer.js";
import type { StateStore } from "../../core/state.js";
import type { DeviceReport, FleetRecorder } from "./contract.js";
import { createFleetMemory, type DeviceRecord, MAX_DEVICES } from "./fleet-memory.js";
import { encodeFetches, FETCHES_NAMESPACE, type Fetch, fetchKey } from "./record-format.js";
import { createScanner } from "./record-scan.js";
import { createReportBacklog } from "./report-backlog.js";
import { createReportWriter } from "./report-writer.js";

/** How often, at most, this process writes its fetches. */
export const FLUSH_MS = 5000;
/** How often, at most, others' records are looked for (a second under FLUSH_MS, so the two stay within 10 s). */
export const RESCAN_MS = 4000;

export interface FleetRecordsOptions {
  state: StateStore;
  logger: Logger;
  observer: Pick<OperationObserver, "deviceRecordWrite">;
  /** Hands background work to the runtime that must wait for it (Workers: the request's waitUntil). */
  track?: (settled: Promise<void>) => void;
  /** Wall clock, ms since the epoch. */
  now?: () => number;
  maxDevices?: number;
  /** 32 lower-case hex digits; a random one by default (a restarted process is a new one). */
  processId?: string;
}

export interface FleetRecords extends FleetRecorder {
  /**
   * Every device known here and in others' records, looked for if `maxAgeMs` (default
   * RESCAN_MS) has passed since the last look: a running rollout asks every second, so that
   * reports made to other processes tip it within SPEC's 2 s.
   */
  devices(options?: { maxAgeMs?: number }): Promise<ReadonlyMap<string, DeviceRecord>>;
  /** Whether `mac` is known, from memory (no scan). */
  knows(mac: string): boolean;
  /** Moves whenever what `devices` holds changed. */
  changes(): number;
  /**
   * A report whose sender has already been acknowledged (MQTT): in the view at once, written
   * in the background (report-backlog.ts), so a fleet reporting at once is seen within SPEC's 2 s.
   */
  accepted(mac: string, report: DeviceReport): void;
  /** Writes this process's fetches now if anything changed. */
  flush(): Promise<void>;
  /** Stops the flush timer and writes what is pending (graceful shutdown). */
  close(): Promise<void>;
}

export const fleetFull = (maxDevices: number) =>
  new AppError(
    "SERVER_BUSY",
    `The server keeps records of at most ${maxDevices} devices and knows that many: a report from a device not yet known is not recorded`,
    { details: { max_devices: maxDevices } },
  );

export function createFleetRecords(options: FleetRecordsOptions): FleetRecords {
  const { state, logger, observer, track } = options;
  const now = options.now ?? Date.now;
  const maxDevices = options.maxDevices ?? MAX_DEVICES;
  const processId = options.processId ?? crypto.randomUUID().replaceAll("-", "");
  const memory = createFleetMemory(logger, maxDevices);
  const own = new Map<string, Fetch>();
  const scanner = createScanner({ state, memory, logger, now, processId, own, maxDevices });

  let dirty = false;
  let ownKey: { key: string; at: number } | undefined;
  /** Stopped processes' batches merged into `own`: deleted once `own` is written. */
  const compacted: string[] = [];
  let lastFlushAt = Number.NEGATIVE_INFINITY;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let scannedAt = Number.NEGATIVE_INFINITY;
  let scanning: Promise<void> | undefined;
  // Batch writes run one after another: two at once would each delete the other's key as "previous".
  let chain: Promise<unknown> = Promise.resolve();

  const remove = (ns: string, key: string) =>
    state.delete(ns, key).catch((error: unknown) => {
      // Left behind, it is read as an older record and compacted or replaced later.
      logger.warn("could not delete an outdated fleet record", { ns, key, ...errorFields(error) });
      return false;
    });

  const writeBatch = async () => {
    if (!dirty && compacted.length === 0) return;
    dirty = false;
    const merged = compacted.splice(0);
    const at = Math.max(now(), (ownKey?.at ?? 0) + 1);
    const key = fetchKey(processId, at);
    try {
      await state.put(FETCHES_NAMESPACE, key, encodeFetches(own));
    } catch (error) {
      dirty = true;
      compacted.unshift(...merged);
      throw error;
    }
    observer.deviceRecordWrite("fetches");
    lastFlushAt = now();
    const previous = ownKey?.key;
    ownKey = { key, at };
    if (previous) await remove(FETCHES_NAMESPACE, previous);
    const gone: string[] = [];
    for (const old of merged) if (await remove(FETCHES_NAMESPACE, old)) gone.push(old);
    scanner.forgetFetches(gone);
  };

  const flush = (): Promise<void> => {
    const run = chain.then(writeBatch);
    chain = run.catch(() => undefined);
    return run;
  };

  const flushLogged = () =>
    flush().catch((error: unknown) =>
      // Still in memory and marked as changed: the next flush writes them.
      logger.warn("could not write the device fetch records; retrying at the next flush", errorFields(error)),
    );

  /**
   * Arms one timer for the next flush: FLUSH_MS after the first fetch not yet written (so a
   * fleet starting up is one batch, not one for its first device and one for the rest), and
   * never sooner than FLUSH_MS after the previous write.
   */
  const schedule = () => {
    if (timer !== undefined || closed) return;
    const delay = Math.max(FLUSH_MS, lastFlushAt + FLUSH_MS - now());
    const done = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        timer = undefined;
        void flushLogged().then(() => {
          // Fetches that came in during the write are the next batch's.
          if (dirty) schedule();
          resolve();
        });
      }, delay);
    });
    (timer as { unref?: () => void } | undefined)?.unref?.();
    track?.(done);
  };

  const refresh = (maxAgeMs: number): Promise<void> => {
    if (scanning) return scanning;
    if (now() - scannedAt < maxAgeMs) return Promise.resolve();
    scannedAt = now();
    scanning = (async () => {
      const merged = await scanner.scan();
      if (merged.length === 0) return;
      compacted.push(...merged);
      await flushLogged();
    })()
      .catch((error: unknown) => {
        scannedAt = Number.NEGATIVE_INFINITY;
        throw error;
      })
      .finally(() => {
        scanning = undefined;
      });
    return scanning;
  };

  /** The time of a new report: strictly after anything known of the device, so the newest record is this one. */
  const reportAt = (mac: string) => {
    if (!memory.hasRoom(mac)) throw fleetFull(maxDevices);
    const known = Math.max(memory.devices.get(mac)?.report?.at ?? 0, ...scanner.reportTimes(mac));
    const at = Math.max(now(), known + 1);
    // Known before the write: a second report of the same device meanwhile takes a later time.
    scanner.wroteReport(mac, at);
    return at;
  };

  const writeReport = createReportWriter({ state, logger, observer, scanner, track });
  const backlog = createReportBacklog(writeReport, logger);

  return {
    fetched(mac, etag) {
      const fetch = { etag, at: now() };
      if (!memory.noteFetch(mac, fetch)) return;
      own.set(mac, fetch);
      dirty = true;
      if (timer === undefined) schedule();
    },

    async reported(mac: string, report: DeviceReport) {
      const record = { report, at: reportAt(mac) };
      await writeReport(mac, record);
      memory.noteReport(mac, record);
    },

    accepted(mac, report) {
      const record = { report, at: reportAt(mac) };
      memory.noteReport(mac, record);
      backlog.add(mac, record);
    },

    async devices(options) {
      await refresh(options?.maxAgeMs ?? RESCAN_MS);
      return memory.devices;
    },

    knows: (mac) => memory.devices.has(mac),

    changes: () => memory.changes(),

    flush,

    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await backlog.drain();
      await flush();
    },
  };
}
