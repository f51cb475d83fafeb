/**
 * Guards a request body while it is read: more than `maxBytes` fails with 413, and a
 * client that sends nothing for `idleMs` is cut with 408. Only time spent waiting for
 * the client counts, never time we spend writing what arrived (back-pressure), so a
 * slow but moving upload is never cut, however long it takes in total.
 */
import { AppError, payloadTooLarge } from "./errors.js";
import { readAllBytes } from "./storage.js";

export interface BodyLimits {
  maxBytes: number;
  idleMs: number;
}

export const idleTimeout = (idleMs: number) =>
  new AppError("REQUEST_TIMEOUT", `No data received for ${idleMs} ms: the request body was cut and discarded`, {
    details: { idle_timeout_ms: idleMs },
  });

export function guardBody(body: ReadableStream<Uint8Array>, limits: BodyLimits): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let seen = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const read = reader.read();
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(idleTimeout(limits.idleMs)), limits.idleMs);
      });
      try {
        const { value, done } = await Promise.race([read, idle]);
        if (done) {
          controller.close();
          return;
        }
        seen += value.byteLength;
        if (seen > limits.maxBytes) {
          controller.error(payloadTooLarge(limits.maxBytes));
          await reader.cancel();
          return;
        }
        controller.enqueue(value);
      } catch (error) {
        // After an idle cut the read stays pending and may fail when the connection closes;
        // that outcome no longer matters, and must not surface as an unhandled rejection.
        read.catch((late: unknown) => late);
        controller.error(error);
      } finally {
        clearTimeout(timer);
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
