/**
 * Guessing costs time. With device reads open (DEVICE_AUTH=open), a config is found by
 * guessing its MAC, and one Espressif OUI (16.7 million MACs) was swept in 23 minutes at
 * the 12,000 answers a second one client got here. So each client address may miss (404)
 * at most DEVICE_READ_MISS_LIMIT times a minute; past it, its device reads are 429 until
 * its minute is over — hits included, or a sweep would go on harvesting them. At the
 * default, 1,000 a minute, one OUI takes about 11 days from one address. A fleet behind
 * one NAT address misses rarely (a device asks for its own config), far below the limit.
 */
import { AppError } from "../../core/errors.js";

const WINDOW_MS = 60_000;
/** Most client addresses remembered at once; past it the oldest windows are forgotten. */
const MAX_CLIENTS = 100_000;

export interface MissLimiter {
  /** Whether any client is limited now: the fast path asks this before looking for the client. */
  anyLimited(): boolean;
  /** The refusal for this client, or undefined when it may read. */
  refusal(client: string): AppError | undefined;
  /** Counts a miss (a 404 answered to a device read). */
  miss(client: string): void;
}

export function createMissLimiter(perMinute: number, now: () => number = Date.now): MissLimiter {
  const windows = new Map<string, { start: number; misses: number }>();
  let limited = 0;
  const current = (client: string) => {
    const at = now();
    let window = windows.get(client);
    if (window && at - window.start >= WINDOW_MS) {
      if (window.misses >= perMinute) limited--;
      windows.delete(client);
      window = undefined;
    }
    return window;
  };
  return {
    anyLimited: () => limited > 0,
    refusal(client) {
      const window = current(client);
      if (!window || window.misses < perMinute) return undefined;
      const retryAfter = Math.max(1, Math.ceil((window.start + WINDOW_MS - now()) / 1000));
      return new AppError(
        "TOO_MANY_REQUESTS",
        `Too many device reads of configs that do not exist from your address (at most ${perMinute} a minute); retry later`,
        { details: { max_misses_per_minute: perMinute }, headers: { "Retry-After": String(retryAfter) } },
      );
    },
    miss(client) {
      const window = current(client) ?? { start: now(), misses: 0 };
      window.misses++;
      if (window.misses === perMinute) limited++;
      windows.delete(client);
      windows.set(client, window);
      if (windows.size > MAX_CLIENTS) {
        const [oldest, first] = windows.entries().next().value as [string, { start: number; misses: number }];
        if (first.misses >= perMinute) limited--;
        windows.delete(oldest);
      }
    },
  };
}
