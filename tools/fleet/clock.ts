/**
 * The simulator's one clock: milliseconds since the epoch, with performance.now()'s
 * resolution. Not performance.now() alone: its zero is each process's start, and a
 * sharded run compares times taken in several processes (a save timed by the driver, the
 * fetch it caused timed by a shard).
 */
export const now = (): number => performance.timeOrigin + performance.now();
