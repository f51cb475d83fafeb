/**
 * The notifier's pending deliveries (src/core/notifier.ts): each notification handed to the
 * sink gets a numbered receipt, a plain object (no closure, no promise) however long it waits
 * in a sink's queue. A flush waits for exactly those pending when it began, and counts those
 * that did not settle in time.
 */
import type { Notification, Receipt } from "../../core/sinks/contract.js";

export interface PendingDeliveries {
  /** The receipt for a notification about to be handed to the sink. */
  begin(notification: Notification): Receipt;
  count(): number;
  /** Waits for every delivery pending now, at most `timeoutMs`; resolves with how many of them did not settle. */
  drain(timeoutMs: number): Promise<number>;
}

/** `outcome` is told how each delivery ended, once, before a drain waiting for it is. */
export function createPendingDeliveries(
  outcome: (notification: Notification, error: unknown) => void,
): PendingDeliveries {
  /** Drains under way: each waits for the `left` deliveries numbered below its `mark`. */
  const waiters = new Set<{ mark: number; left: number; done(): void }>();
  let begun = 0;
  let pending = 0;

  type Delivery = Receipt & { notification: Notification; number: number };
  // One function for every receipt (as a method, through `this`): no closure per notification.
  function settled(this: Delivery, error: unknown) {
    pending--;
    outcome(this.notification, error);
    for (const waiter of waiters) if (this.number < waiter.mark && --waiter.left === 0) waiter.done();
  }

  return {
    begin(notification) {
      pending++;
      const delivery: Delivery = { notification, number: begun++, settled };
      return delivery;
    },
    count: () => pending,
    async drain(timeoutMs) {
      const waiter = { mark: begun, left: pending, done: (): void => undefined };
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        waiter.done = resolve;
        if (waiter.left === 0) return resolve();
        timer = setTimeout(resolve, timeoutMs);
        waiters.add(waiter);
      });
      clearTimeout(timer);
      waiters.delete(waiter);
      return waiter.left;
    },
  };
}
