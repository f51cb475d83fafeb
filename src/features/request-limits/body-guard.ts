/**
 * Guards a request body while it is read: more than `maxBytes` fails with 413, and a
 * client that sends nothing for `idleMs` is cut with 408. Only time spent waiting for
 * the client counts, never time we spend writing what arrived (back-pressure), so a
 * slow but moving upload is never cut, however long it takes in total.
 */
import { AppError, payloadTooLarge } from "../../core/errors.js";
import { readAllBytes } from "../../core/storage.js";

export interface BodyLimits {
  maxBytes: number;
  idleMs: number;
  /**
   * A body that has not proven who sent it (an upload before its signature is verified, a
   * config PUT without admin authentication) must keep up at least this rate, judged over
   * each RATE_WINDOW_MS of time spent waiting for it: a trickle (one byte every 20 s) would
   * otherwise hold a connection, and an upload slot, for as long as it likes.
   */
  minRate?: {
    bytesPerSecond: number;
    /** True once the body's sender is proven; from then on only the idle rule applies. */
    exempt(): boolean;
  };
  /** Cuts the body with the signal's reason (an AppError), e.g. when no slot is left for a slow one. */
  signal?: AbortSignal;
}

/** The stretch of waiting over which a body's rate is judged: long enough for a slow start, short enough to free a slot. */
export const RATE_WINDOW_MS = 10_000;

export const idleTimeout = (idleMs: number) =>
  new AppError("REQUEST_TIMEOUT", `No data received for ${idleMs} ms: the request body was cut and discarded`, {
    details: { idle_timeout_ms: idleMs },
  });

export const tooSlow = (bytesPerSecond: number) =>
  new AppError(
    "REQUEST_TIMEOUT",
    `Request body arrived slower than ${bytesPerSecond} bytes/s before it was authenticated: it was cut and discarded`,
    { details: { min_bytes_per_second: bytesPerSecond } },
  );

export function guardBody(body: ReadableStream<Uint8Array>, limits: BodyLimits): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const { minRate } = limits;
  let seen = 0;
  // The current rate window: time spent waiting for the client, and what arrived meanwhile.
  let waited = 0;
  let got = 0;
  const judged = () => minRate === undefined || minRate.bytesPerSecond <= 0 || minRate.exempt();
  /** Closes the window once it is long enough; throws when the client fell below the rate. */
  const judge = () => {
    if (waited < RATE_WINDOW_MS) return;
    if (!judged() && got < ((minRate as NonNullable<typeof minRate>).bytesPerSecond * waited) / 1000) {
      throw tooSlow((minRate as NonNullable<typeof minRate>).bytesPerSecond);
    }
    waited = 0;
    got = 0;
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const timers: Array<ReturnType<typeof setTimeout>> = [];
      const read = reader.read();
      // Waiting is counted from here to the read's end, in steps: each window is judged when it ends.
      let mark = performance.now();
      const account = () => {
        const at = performance.now();
        waited += at - mark;
        mark = at;
      };
      const { signal } = limits;
      let onAbort: (() => void) | undefined;
      const cut = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal?.reason);
        if (signal?.aborted) onAbort();
        signal?.addEventListener("abort", onAbort, { once: true });
        timers.push(setTimeout(() => reject(idleTimeout(limits.idleMs)), limits.idleMs));
        // Nothing arriving before the window ends is judged then, not only at the next byte.
        const arm = () => {
          if (judged()) return;
          timers.push(
            setTimeout(
              () => {
                account();
                try {
                  judge();
                } catch (error) {
                  reject(error);
                  return;
                }
                arm();
              },
              Math.max(0, RATE_WINDOW_MS - waited),
            ),
          );
        };
        arm();
      });
      try {
        const { value, done } = await Promise.race([read, cut]);
        if (done) {
          controller.close();
          return;
        }
        account();
        got += value.byteLength;
        seen += value.byteLength;
        if (seen > limits.maxBytes) {
          controller.error(payloadTooLarge(limits.maxBytes));
          await reader.cancel();
          return;
        }
        judge();
        controller.enqueue(value);
      } catch (error) {
        // After a cut the read stays pending and may fail when the connection closes;
        // that outcome no longer matters, and must not surface as an unhandled rejection.
        read.catch((late: unknown) => late);
        controller.error(error);
      } finally {
        for (const timer of timers) clearTimeout(timer);
        if (onAbort) signal?.removeEventListener("abort", onAbort);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** Most of a refused body that is read and thrown away so the connection stays usable. */
export const MAX_DISCARD_BYTES = 64 * 1024 * 1024;

/**
 * Reads what is left of a body that was refused before it was read, and throws it away,
 * in the background, so the client can finish sending and read the answer, and the
 * connection stays usable for its next request. Past MAX_DISCARD_BYTES (or the guard's
 * idle timeout) it gives up and cancels: the connection is then closed instead, which a
 * client sending that much more must expect.
 */
export function discardRest(body: ReadableStream<Uint8Array>): Promise<void> {
  if (body.locked) return Promise.resolve();
  const reader = body.getReader();
  const run = async () => {
    let discarded = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      discarded += value.byteLength;
      if (discarded > MAX_DISCARD_BYTES) {
        await reader.cancel();
        return;
      }
    }
  };
  // The client may go away meanwhile; a failed discard needs nothing more than being dropped.
  return run().catch((gone: unknown) => {
    void gone;
  });
}

/** Reads a whole (small) body under the same guard. */
export const readGuardedBytes = (body: ReadableStream<Uint8Array>, limits: BodyLimits): Promise<Uint8Array> =>
  readAllBytes(guardBody(body, limits));
