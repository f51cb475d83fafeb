/**
 * The notifier the routes call after a successful save or upload: fire and forget, but
 * never forgotten. The caller returns at once, while each publish is counted as pending
 * until the sink settles it (through `send` where the sink has it: a burst holds no promise
 * each), so shutdown can wait for them (and Workers hand each to `waitUntil`).
 */
import { createPendingDeliveries } from "../features/notifications/pending-deliveries.js";
import { errorFields, type Logger } from "./logger.js";
import {
  isSinkError,
  type Notification,
  type NotificationMetadata,
  type NotificationSink,
  TOPICS,
  type Topic,
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

// Two literals, not one spreading `{}` without metadata: a spread takes V8's slow clone path, and a burst makes thousands.
const notificationOf = (topic: Topic, filename: string, metadata: NotificationMetadata | undefined): Notification =>
  metadata ? { topic, payload: { filename }, metadata } : { topic, payload: { filename } };

export function createNotifier({ sink, logger, track }: NotifierOptions): Notifier {
  const counts = noOutcomes();
  const resolved = resolvedOutcome(sink.name);
  const deliveries = createPendingDeliveries((notification, error) => {
    if (error === undefined) return void counts[resolved]++;
    counts[rejectedOutcome(error)]++;
    // Logged here once; the metrics decorator counts it.
    logger.warn("notification not delivered", {
      sink: sink.name,
      topic: notification.topic,
      filename: notification.payload.filename,
      code: isSinkError(error) ? error.code : "UNKNOWN",
      ...errorFields(error),
    });
  });

  const send = (notification: Notification) => {
    const receipt = deliveries.begin(notification);
    // Workers' `track` needs a promise for each; elsewhere none is made where the sink can `send`.
    if (sink.send && !track) return sink.send(notification, receipt);
    const done = sink.publish(notification).then(
      () => receipt.settled(undefined),
      (e) => receipt.settled(e),
    );
    track?.(done);
  };

  return {
    configSaved(mac, metadata) {
      send(notificationOf(TOPICS.configs, `${mac}.json`, metadata));
    },
    assetUploaded(filename, metadata) {
      send(notificationOf(TOPICS.assets, filename, metadata));
    },
    pending: () => deliveries.count(),
    totals: () => ({ ...counts }),
    async flush(timeoutMs) {
      const before = { ...counts };
      const abandoned = await deliveries.drain(timeoutMs);
      const since = noOutcomes();
      for (const outcome of PUBLISH_OUTCOMES) since[outcome] = counts[outcome] - before[outcome];
      return { ...since, abandoned };
    },
  };
}
