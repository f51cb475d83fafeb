/**
 * Helpers of the R2 driver's staged writes: the bytes waiting to become one multipart
 * part, and R2's binary checksums as hex.
 */
import { toHex } from "../../core/storage.js";

type Bytes = Uint8Array<ArrayBuffer>;

/** Written bytes waiting to become a part: at most one part's worth plus one chunk, allocated as they come. */
export function partBuffer() {
  let chunks: Uint8Array[] = [];
  let length = 0;
  return {
    get length() {
      return length;
    },
    push(chunk: Uint8Array) {
      // A copy: the caller may reuse its buffer once `write` resolves.
      chunks.push(chunk.slice());
      length += chunk.byteLength;
    },
    /** The first `count` bytes (at most `length`), as one array. */
    take(count: number): Bytes {
      const out = new Uint8Array(count);
      let offset = 0;
      while (offset < count) {
        const head = chunks[0] as Uint8Array;
        const want = count - offset;
        if (head.byteLength <= want) {
          out.set(head, offset);
          offset += head.byteLength;
          chunks.shift();
        } else {
          out.set(head.subarray(0, want), offset);
          chunks[0] = head.subarray(want);
          offset += want;
        }
      }
      length -= count;
      return out;
    },
    clear() {
      chunks = [];
      length = 0;
    },
  };
}

export function hexOf(digest: ArrayBuffer | undefined): string | undefined {
  return digest && digest.byteLength === 32 ? toHex(digest) : undefined;
}
