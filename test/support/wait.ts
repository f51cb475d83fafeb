/**
 * Waiting for a state, never for a length of time. On a loaded CI machine any fixed
 * sleep is eventually too short, so a test that needs "the sink has noticed" polls for
 * exactly that, with a generous deadline that only a real failure reaches.
 */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Default deadline: far beyond any healthy wait, short enough to fail a broken run quickly. */
export const WAIT_TIMEOUT_MS = 20_000;

/**
 * Polls `check` until it returns a truthy value, and returns that value. Throws,
 * naming `what`, once `timeoutMs` has passed.
 */
export async function waitUntil<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = WAIT_TIMEOUT_MS,
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
