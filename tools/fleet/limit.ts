/**
 * Bounded concurrency. A thousand devices notified at once must not open a thousand
 * sockets to the server at once (nor hold a thousand response buffers): every device
 * request waits its turn in one shared limiter, and the driver's phases run their
 * items a fixed number at a time.
 */
import { throwIfAborted } from "./errors.js";

export interface Limiter {
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Requests running now. */
  active(): number;
}

export function createLimiter(max: number): Limiter {
  let active = 0;
  const waiting: Array<() => void> = [];
  return {
    async run(work) {
      // A freed slot is handed straight to the next waiter (active stays counted), so a
      // newcomer can never slip in between and exceed the bound.
      if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
      else active++;
      try {
        return await work();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else active--;
      }
    },
    active: () => active,
  };
}

/**
 * Runs `work` over `items`, at most `max` at once. Once `signal` is aborted no new item
 * starts; the ones running finish, then it throws ABORTED.
 */
export async function forEachLimited<T>(
  items: readonly T[],
  max: number,
  work: (item: T, index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal?.aborted) {
      const index = next++;
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(max, items.length) }, worker));
  throwIfAborted(signal);
}
