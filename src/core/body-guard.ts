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

/** Reads a whole (small) body under the same guard. */
export const readGuardedBytes = (body: ReadableStream<Uint8Array>, limits: BodyLimits): Promise<Uint8Array> =>
  readAllBytes(guardBody(body, limits));
