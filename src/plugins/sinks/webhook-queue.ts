/**
 * The webhook sink's delivery queue: items go out in order, one attempt at a time; a
 * failed attempt is retried after a back-off (doubling, with jitter, reset by a success);
 * past the bound the oldest item is dropped (SINK_DROPPED), even the one being sent (its
 * attempt, unanswered, then counts as failed: the back-off holds across drops);
 * with `maxAttempts` an item is given up after that many (SINK_REJECTED); `close()`
 * settles everything held with SINK_CLOSED and stops the timers.
 *
 * It knows nothing of HTTP: `attempt` says how one try went, and never rejects.
 */
import { SinkError } from "../../core/sinks/contract.js";
import { Fifo } from "./fifo.js";

export type Outcome = { ok: true } | { ok: false; reason: string };
export type Failure = Extract<Outcome, { ok: false }>;

const DROPPED_UNANSWERED: Failure = { ok: false, reason: "no answer before it was dropped from the full queue" };

export interface DeliveryQueueOptions<T> {
  /** One try; aborted (and its outcome ignored) when the item is dropped or the queue closed. */
  attempt(item: T, signal: AbortSignal): Promise<Outcome>;
  /** Most items held, the one being sent included. */
  limit: number;
  /** Attempts per item before it is rejected; 0 retries until dropped or closed. */
  maxAttempts: number;
  retry: { minMs: number; maxMs: number };
  /** In [0, 1), for the jitter. */
  random(): number;
  /** Waits between attempts; must return early once `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void>;
  /** Told of every attempt's outcome (for readiness and logs). */
  observe(outcome: Outcome): void;
}

export interface DeliveryQueue<T> {
  /** Resolves once an attempt for the item succeeds; rejects with a SinkError otherwise. */
  push(item: T): Promise<void>;
  /** Items held: queued, in flight or waiting to be retried. */
  held(): number;
  close(): Promise<void>;
}

interface Entry<T> {
  item: T;
  attempts: number;
  settled: boolean;
  resolve(): void;
  reject(error: SinkError): void;
}

const settle = <T>(entry: Entry<T>, error?: SinkError) => {
  if (entry.settled) return;
  entry.settled = true;
  if (error) entry.reject(error);
  else entry.resolve();
};

export function createDeliveryQueue<T>(options: DeliveryQueueOptions<T>): DeliveryQueue<T> {
  const { limit, maxAttempts, retry } = options;
  const queue = new Fifo<Entry<T>>();
  /** The item being sent or waiting out a back-off. */
  let current: Entry<T> | undefined;
  let inFlight: AbortController | undefined;
  const lifetime = new AbortController();
  let looping = false;
  let loopDone: Promise<void> = Promise.resolve();
  let backoff = retry.minMs;

  const held = () => queue.length + (current ? 1 : 0);

  const enforceBound = () => {
    while (held() > limit) {
      const oldest = current ?? (queue.shift() as Entry<T>);
      if (oldest === current) {
        current = undefined;
        inFlight?.abort();
      }
      settle(oldest, new SinkError("SINK_DROPPED", `queue full (${limit}): oldest notification dropped`));
    }
  };

  /** The far end is failing: whichever item is next waits out the back-off, which grows. */
  const pause = async () => {
    const delay = Math.round(backoff * (0.8 + options.random() * 0.4));
    backoff = Math.min(backoff * 2, retry.maxMs);
    await options.wait(delay, lifetime.signal);
  };

  const succeeded = () => {
    backoff = retry.minMs;
  };

  const deliverOne = async (entry: Entry<T>) => {
    const controller = new AbortController();
    inFlight = controller;
    const outcome = await options.attempt(entry.item, controller.signal);
    inFlight = undefined;
    if (lifetime.signal.aborted) return;
    if (entry.settled) {
      // Dropped from the full queue while its attempt was out. The far end had not answered by
      // then, which is no reason to try the next item at once: a receiver that never answers got
      // one POST per drop (about 255 a second). It counts as a failed attempt, back-off included.
      const unanswered = outcome.ok ? outcome : DROPPED_UNANSWERED;
      options.observe(unanswered);
      if (unanswered.ok) succeeded();
      else await pause();
      return;
    }
    entry.attempts++;
    options.observe(outcome);
    if (outcome.ok) {
      current = undefined;
      succeeded();
      settle(entry);
      return;
    }
    if (maxAttempts > 0 && entry.attempts >= maxAttempts) {
      current = undefined;
      const message = `receiver refused the notification ${entry.attempts} times (last: ${outcome.reason})`;
      settle(entry, new SinkError("SINK_REJECTED", message));
    }
    await pause();
  };

  const loop = async () => {
    try {
      for (;;) {
        current ??= queue.shift();
        if (!current || lifetime.signal.aborted) return;
        await deliverOne(current);
      }
    } finally {
      // Synchronous with the loop's last check: a push right after it starts a new loop.
      looping = false;
    }
  };

  /** Settles everything held with `error`. */
  const abandon = (error: SinkError) => {
    const entries = [...(current ? [current] : []), ...queue.drain()];
    current = undefined;
    for (const entry of entries) settle(entry, error);
  };

  const kick = () => {
    if (looping || lifetime.signal.aborted) return;
    looping = true;
    // `attempt` never rejects, so this is a bug; still, no push may be left hanging.
    loopDone = loop().catch((error: unknown) => {
      abandon(new SinkError("SINK_UNAVAILABLE", "webhook delivery failed unexpectedly", { cause: error }));
    });
  };

  return {
    push: (item) =>
      new Promise<void>((resolve, reject) => {
        queue.push({ item, attempts: 0, settled: false, resolve, reject });
        enforceBound();
        kick();
      }),
    held,
    async close() {
      lifetime.abort();
      inFlight?.abort();
      abandon(new SinkError("SINK_CLOSED", "webhook sink closed before delivery"));
      await loopDone;
    },
  };
}
