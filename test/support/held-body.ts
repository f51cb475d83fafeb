/**
 * Request bodies a test controls byte by byte: sent in steps, held open at a chosen
 * point (a client that stalls, or one that is slow), then finished or broken. Used to
 * prove what the server does before a body has arrived (early refusals, concurrency
 * limits, idle cuts) without guessing at timing.
 */

export interface HeldBody {
  stream: ReadableStream<Uint8Array>;
  /** Resolves once the server has pulled everything before the hold point. */
  held: Promise<void>;
  /** Sends the rest and ends the body. */
  finish(): void;
  /** Ends the body with an error, as a client that went away. */
  fail(): void;
}

export function heldBody(head: Uint8Array, tail: Uint8Array): HeldBody {
  let release: (how: "finish" | "fail") => void = () => undefined;
  const decided = new Promise<"finish" | "fail">((resolve) => {
    release = resolve;
  });
  let reached: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    reached = resolve;
  });
  let step = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      step++;
      if (step === 1) {
        controller.enqueue(head);
        return;
      }
      if (step === 2) {
        reached();
        const how = await decided;
        if (how === "fail") {
          controller.error(new Error("client went away"));
          return;
        }
        controller.enqueue(tail);
        return;
      }
      controller.close();
    },
  });
  return { stream, held, finish: () => release("finish"), fail: () => release("fail") };
}

/** A body sent in `pieces` chunks with `gapMs` between them: slow, but never idle for long. */
export function tricklingBody(bytes: Uint8Array, pieces: number, gapMs: number): ReadableStream<Uint8Array> {
  const size = Math.ceil(bytes.length / pieces);
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      if (offset > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      controller.enqueue(bytes.subarray(offset, offset + size));
      offset += size;
    },
  });
}
