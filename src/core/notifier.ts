/**
 * The notifier the routes call after a successful save or upload: fire and forget, but
 * never forgotten. The caller returns at once, while each publish is counted as pending
 * until the sink settles it (through `send` where the sink has it: a burst holds no promise
 * each), so shutdown can wait for them (and Workers hand each to `waitUntil`).
 */
import { errorFields, type Logger } from "./logger.js";
import {
  isSinkError,
  type Notification,
  type NotificationMetadata,
  type NotificationSink,
  type Settle,
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
  const counts = noOutcomes();
  const resolved = resolvedOutcome(sink.name);
  /** Flushes under way: each waits for the `left` notifications numbered below its `mark`. */
  const waiters = new Set<{ mark: number; left: number; done(): void }>();
  let handed = 0;
  let pending = 0;

  const send = (topic: Notification["topic"], filename: string, metadata?: NotificationMetadata) => {
    const notification: Notification = { topic, payload: { filename }, ...(metadata ? { metadata } : {}) };
    const number = handed++;
    pending++;
    const settle: Settle = (error) => {
      pending--;
      if (error === undefined) counts[resolved]++;
      else {
        counts[rejectedOutcome(error)]++;
        // Logged here once; the metrics decorator counts it.
        logger.warn("notification not delivered", {
          sink: sink.name,
          topic,
          filename,
          code: isSinkError(error) ? error.code : "UNKNOWN",
          ...errorFields(error),
        });
      }
      for (const waiter of waiters) if (number < waiter.mark && --waiter.left === 0) waiter.done();
    };
    // Workers' `track` needs a promise for each; elsewhere none is made where the sink can `send`.
    if (sink.send && !track) sink.send(notification, settle);
    else track?.(sink.publish(notification).then(() => settle(undefined), settle));
  };

  return {
    configSaved: (mac, metadata) => send(TOPICS.configs, `${mac}.json`, metadata),
    assetUploaded: (filename, metadata) => send(TOPICS.assets, filename, metadata),
    pending: () => pending,
    totals: () => ({ ...counts }),
    async flush(timeoutMs) {
      const before = { ...counts };
      const waiter = { mark: handed, left: pending, done: (): void => undefined };
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        waiter.done = resolve;
        if (waiter.left === 0) return resolve();
        timer = setTimeout(resolve, timeoutMs);
        waiters.add(waiter);
      });
      clearTimeout(timer);
      waiters.delete(waiter);
      const since = noOutcomes();
      for (const outcome of PUBLISH_OUTCOMES) since[outcome] = counts[outcome] - before[outcome];
      return { ...since, abandoned: waiter.left };
    },
  };
}
