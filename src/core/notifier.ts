/**
 * The notifier the routes call after a successful save or upload: fire and forget, but
 * never forgotten. The caller returns at once, while each publish stays in a pending set
 * until the sink settles it, so shutdown can wait for them (and Workers hand them to
 * `waitUntil`).
 */
import type { Logger } from "./logger.js";
import { errorFields } from "./logger.js";
import {
  isSinkError,
  type Notification,
  type NotificationMetadata,
  type NotificationSink,
  TOPICS,
} from "./sinks/contract.js";
import { noOutcomes, type OutcomeCounts, PUBLISH_OUTCOMES, rejectedOutcome, resolvedOutcome } from "./sinks/outcome.js";

/** How the publishes pending when the flush began settled (the metrics' outcome words), and how many did not in time. */
export interface FlushResult extends OutcomeCounts {
  abandoned: number;
}

export interface Notifier {
  configSaved(mac: string, metadata?: NotificationMetadata): void;
  assetUploaded(filename: string, metadata?: NotificationMetadata): void;
  /** Notifications handed to the sink and not yet settled. */
  pending(): number;
  /** Waits for every pending notification, at most `timeoutMs`; the result covers only those. */
  flush(timeoutMs: number): Promise<FlushResult>;
  /** Notifications settled since the notifier was made, by outcome (the shutdown log reports them). */
  totals(): OutcomeCounts;
}

export interface NotifierOptions {
  sink: NotificationSink;
  logger: Logger;
  /** Called with each in-flight publish; Workers pass `ctx.waitUntil` here. */
  track?: (settled: Promise<void>) => void;
}

export function createNotifier({ sink, logger, track }: NotifierOptions): Notifier {
  const inFlight = new Set<Promise<void>>();
  const counts = noOutcomes();
  const resolved = resolvedOutcome(sink.name);

  const send = (notification: Notification) => {
    // One reaction per publish (no .finally): this runs for every save, at broker speed.
    const settled: Promise<void> = sink.publish(notification).then(
      () => {
        inFlight.delete(settled);
        counts[resolved]++;
      },
      (error: unknown) => {
        inFlight.delete(settled);
        counts[rejectedOutcome(error)]++;
        // Logged here once; the metrics decorator counts it.
        logger.warn("notification not delivered", {
          sink: sink.name,
          topic: notification.topic,
          filename: notification.payload.filename,
          code: isSinkError(error) ? error.code : "UNKNOWN",
          ...errorFields(error),
        });
      },
    );
    inFlight.add(settled);
    track?.(settled);
  };

  return {
    configSaved(mac, metadata) {
      send({ topic: TOPICS.configs, payload: { filename: `${mac}.json` }, ...(metadata ? { metadata } : {}) });
    },
    assetUploaded(filename, metadata) {
      send({ topic: TOPICS.assets, payload: { filename }, ...(metadata ? { metadata } : {}) });
    },
    pending: () => inFlight.size,
    totals: () => ({ ...counts }),
    async flush(timeoutMs) {
      const before = { ...counts };
      const waiting = [...inFlight];
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([Promise.allSettled(waiting), deadline]);
      clearTimeout(timer);
      const since = noOutcomes();
      for (const outcome of PUBLISH_OUTCOMES) since[outcome] = counts[outcome] - before[outcome];
      return { ...since, abandoned: waiting.filter((p) => inFlight.has(p)).length };
    },
  };
}
