/**
 * Reports written in the background: those that came through a broker (MQTT_STATUS_TOPICS).
 * The broker has their PUBACK as soon as they are read, so writing each before taking the
 * next buys no durability, and a fleet reporting at once after a change (10,000 devices in
 * a second) would then wait on one durable write per report — tens of seconds on a busy
 * disk, where SPEC wants a report seen within 2 s. Instead the report is in the view at once
 * (fleet-records.ts, `accepted`) and written here by a few writers; a device reporting again
 * before its last one was written replaces it, so the backlog holds at most one report per
 * device and its memory is bounded by the fleet's size.
 */
import { errorFields, type Logger } from "../../core/logger.js";
import type { ReportRecord } from "./record-format.js";

/** Writes at once: enough to keep the storage busy, few enough to leave it to the requests. */
export const BACKLOG_WRITERS = 8;

export interface ReportBacklog {
  add(mac: string, record: ReportRecord): void;
  /** Resolves when everything added so far is written or has failed (graceful shutdown). */
  drain(): Promise<void>;
  /** Reports waiting or being written. */
  size(): number;
}

export function createReportBacklog(
  write: (mac: string, record: ReportRecord) => Promise<void>,
  logger: Logger,
  writers = BACKLOG_WRITERS,
): ReportBacklog {
  const pending = new Map<string, ReportRecord>();
  let active = 0;
  const waiters: Array<() => void> = [];
  // One line when writes start failing (a full disk would otherwise log one per report), one when they work again.
  let failing = false;

  const settle = (mac: string, error?: unknown) => {
    active--;
    if (error !== undefined && !failing) {
      failing = true;
      logger.warn("could not write device status reports received over MQTT; they stay in this process's view", {
        mac_address: mac,
        ...errorFields(error),
      });
    } else if (error === undefined && failing) {
      failing = false;
      logger.info("device status reports are written again");
    }
    pump();
  };

  const pump = () => {
    while (active < writers && pending.size > 0) {
      const [mac, record] = pending.entries().next().value as [string, ReportRecord];
      pending.delete(mac);
      active++;
      write(mac, record).then(
        () => settle(mac),
        (error: unknown) => settle(mac, error),
      );
    }
    if (active === 0 && pending.size === 0) for (const resolve of waiters.splice(0)) resolve();
  };

  return {
    add(mac, record) {
      pending.set(mac, record);
      pump();
    },
    drain() {
      if (active === 0 && pending.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        waiters.push(resolve);
      });
    },
    size: () => pending.size + active,
  };
}
