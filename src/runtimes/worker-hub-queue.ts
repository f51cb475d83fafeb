/**
 * The notification hub's queue (worker-hub.ts). Each notification is stored in Durable
 * Object storage under `q:<zero-padded sequence>` (so keys sort in arrival order) before
 * the hub acknowledges it, handed to the sink in that order, and deleted once the sink has
 * settled it for good: delivered, dropped from its full queue, or refused. So a restart or
 * an eviction loses nothing: the object reloads the stored queue when it starts and hands
 * it to the sink again (at-least-once, as on the other runtimes).
 *
 * While anything is stored, an alarm fires every few seconds: it keeps the object running
 * while the broker is unreachable (the sink reconnects on its own timers meanwhile), wakes
 * it after an eviction or a restart, and hands over again what the sink turned away for now.
 */
import type { DurableObjectStorage } from "@cloudflare/workers-types/2023-07-01/index.js";
import { errorFields, type Logger } from "../core/logger.js";
import { isSinkError, type Notification, type NotificationSink } from "../core/sinks/contract.js";
import type { Metrics, PublishCount } from "../plugins/metrics/index.js";

const PREFIX = "q:";
/** The publish counters, so /metrics stays cumulative across restarts. */
const COUNTS = "counts";
const keyOf = (seq: number) => `${PREFIX}${String(seq).padStart(16, "0")}`;
/** Sink refusals that decide nothing about the notification itself: it is offered again at the next alarm. */
const TRY_LATER = new Set(["SINK_UNAVAILABLE", "SINK_TIMEOUT", "SINK_CLOSED"]);
export const RETRY_MS = 5000;
/**
 * Settled notifications are removed with the next write of arrivals, or after this long on their
 * own: a restart meanwhile delivers them again (at-least-once), as it would anything in flight.
 */
export const REMOVE_AFTER_MS = 50;
/** The most keys Durable Object storage puts or deletes in one call. */
const BATCH_LIMIT = 128;

interface Arrival {
  key: string;
  notification: Notification;
  stored(): void;
  failed(error: unknown): void;
}

export interface HubQueueOptions {
  storage: Pick<DurableObjectStorage, "get" | "put" | "delete" | "list" | "getAlarm" | "setAlarm">;
  /** The plugin's sink, wrapped by the metrics decorator: its outcomes are counted there, once. */
  sink: NotificationSink;
  metrics: Pick<Metrics, "publishCounts" | "addPublishCounts">;
  logger: Logger;
  retryMs?: number;
  /** How long settled notifications wait for a write of arrivals to be removed with; REMOVE_AFTER_MS. */
  removeAfterMs?: number;
}

export interface HubQueue {
  /** Resolves once the notification is stored; the sink then has it, after every earlier one. */
  enqueue(notification: Notification): Promise<void>;
  /** The alarm's work: offers again what the sink turned away, and re-arms while anything is stored. */
  alarm(): Promise<void>;
  /** Stored and not yet settled. */
  size(): number;
}

export async function openHubQueue(options: HubQueueOptions): Promise<HubQueue> {
  const { storage, sink, metrics, logger } = options;
  const retryMs = options.retryMs ?? RETRY_MS;
  const removeAfterMs = options.removeAfterMs ?? REMOVE_AFTER_MS;
  metrics.addPublishCounts((await storage.get<PublishCount[]>(COUNTS)) ?? []);
  const reloaded = await storage.list<Notification>({ prefix: PREFIX });
  /** Stored and with the sink. */
  const handed = new Set<string>();
  /** Stored, turned away by the sink for now. */
  const later = new Map<string, Notification>();
  let seq = 0;
  let alarmAt = await storage.getAlarm();
  /**
   * Settled, still to be removed from storage. Removed with the next write of arrivals (the
   * same storage transaction), or, when none comes within REMOVE_AFTER_MS, on their own: under
   * load a burst's settlements cost no transaction of their own.
   */
  const settled: string[] = [];
  let removal: ReturnType<typeof setTimeout> | undefined;
  /** Whether a write of arrivals is scheduled or running (it takes the settled keys along). */
  let writing = false;

  const arm = async () => {
    const at = Date.now() + retryMs;
    // An alarm set for later (the hub's keep-alive while it receives status reports) is brought forward.
    if (alarmAt !== null && alarmAt <= at) return;
    alarmAt = at;
    await storage.setAlarm(alarmAt);
  };
  const armSafely = () => {
    arm().catch((error: unknown) => logger.error("could not set the notification hub's alarm", errorFields(error)));
  };

  /** Issues the removal of `keys` and the counters, to be committed with whatever is issued in the same turn. */
  const removeNow = async (keys: string[]): Promise<void> => {
    const counts = await metrics.publishCounts();
    await Promise.all([storage.delete(keys), storage.put(COUNTS, counts)]);
  };
  const removeFailed = (count: number, error: unknown) =>
    // They stay stored, so they are delivered again after a restart: duplicates, never a loss.
    logger.error("could not remove settled notifications from the hub's queue", { count, ...errorFields(error) });
  const remove = async () => {
    removal = undefined;
    while (settled.length > 0 && !writing) {
      const keys = settled.splice(0, BATCH_LIMIT);
      try {
        await removeNow(keys);
        logger.debug("settled notifications removed from the hub's queue", {
          count: keys.length,
          queued: handed.size + later.size + settled.length,
        });
      } catch (error) {
        removeFailed(keys.length, error);
      }
    }
  };
  const forget = (key: string) => {
    handed.delete(key);
    settled.push(key);
    // A write under way or scheduled takes it along; so does one starting before the timer. Never rejects.
    if (!writing && !removal) removal = setTimeout(() => void remove(), removeAfterMs);
  };

  const hand = (key: string, notification: Notification) => {
    handed.add(key);
    sink.publish(notification).then(
      () => forget(key),
      (error: unknown) => {
        const code = isSinkError(error) ? error.code : "UNKNOWN";
        const fields = { sink: sink.name, topic: notification.topic, filename: notification.payload.filename, code };
        if (TRY_LATER.has(code)) {
          handed.delete(key);
          later.set(key, notification);
          logger.debug("notification turned away for now; offered again at the next alarm", fields);
          armSafely();
          return;
        }
        // Dropped from a full queue or refused for good: counted by the metrics decorator, logged here once.
        logger.warn("notification not delivered", { ...fields, ...errorFields(error) });
        forget(key);
      },
    );
  };

  for (const [key, notification] of reloaded) {
    hand(key, notification);
    seq = Number(key.slice(PREFIX.length));
  }
  if (reloaded.size > 0) {
    logger.info("notification queue reloaded from storage", { sink: sink.name, queued: reloaded.size });
    await arm();
  }

  /**
   * Arrived, not yet written. One write at a time, each taking all that arrived until it
   * started (a group commit): a burst costs a few storage writes, not one each.
   */
  const arriving: Arrival[] = [];
  const write = async () => {
    while (arriving.length > 0) {
      // One key less than the limit: room for the counters.
      const batch = arriving.splice(0, BATCH_LIMIT - 1);
      const keys = settled.splice(0, BATCH_LIMIT);
      try {
        // The counters are read first: no await between the writes, so storage commits them as one.
        const counts = keys.length > 0 ? await metrics.publishCounts() : undefined;
        const entries: Record<string, unknown> = Object.fromEntries(
          batch.map(({ key, notification }) => [key, notification]),
        );
        if (counts) entries[COUNTS] = counts;
        await Promise.all([storage.put(entries), ...(keys.length > 0 ? [storage.delete(keys)] : [])]);
      } catch (error) {
        for (const arrival of batch) arrival.failed(error);
        if (keys.length > 0) removeFailed(keys.length, error);
        continue;
      }
      if (keys.length > 0) {
        logger.debug("settled notifications removed from the hub's queue", {
          count: keys.length,
          queued: handed.size + later.size + settled.length + arriving.length + batch.length,
        });
      }
      // Only what is stored reaches the sink, in arrival order; then its sender is answered.
      for (const { key, notification, stored } of batch) {
        hand(key, notification);
        stored();
      }
    }
    writing = false;
    // What settled while the last write was under way goes on its own, unless arrivals come first.
    if (settled.length > 0 && !removal) removal = setTimeout(() => void remove(), removeAfterMs);
  };

  return {
    enqueue(notification) {
      const key = keyOf(++seq);
      const done = new Promise<void>((stored, failed) => arriving.push({ key, notification, stored, failed }));
      armSafely();
      if (!writing) {
        writing = true;
        // After the current turn, so that calls already waiting to be delivered join this write.
        setTimeout(() => void write(), 0);
      }
      return done;
    },
    async alarm() {
      alarmAt = null;
      const retry = [...later].sort(([a], [b]) => (a < b ? -1 : 1));
      later.clear();
      for (const [key, notification] of retry) hand(key, notification);
      const queued = handed.size + later.size;
      if (queued > 0) {
        logger.debug("notifications still queued", { sink: sink.name, queued, ready: sink.status().ready });
        await arm();
      }
    },
    size: () => handed.size + later.size,
  };
}
