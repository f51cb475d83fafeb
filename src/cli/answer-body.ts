/**
 * The body of the server's answer, read up to a bound. A real answer (an upload
 * result, an error in the API's shape) is a few hundred bytes; anything past
 * MAX_ANSWER_BYTES is not one, so the rest is never read: the stream is cancelled,
 * which closes the connection. Reading it whole would let any server, or anything
 * answering in its place, fill this machine's memory.
 */
import { CliError } from "./errors.js";
import { formatBytes } from "./units.js";

export const MAX_ANSWER_BYTES = 64 * 1024;

export interface AnswerBody {
  /** The bytes read, as UTF-8 (invalid sequences replaced). */
  text: string;
  /** The server sent more than was read. */
  truncated: boolean;
}

export async function readAnswerBody(response: Response, maxBytes = MAX_ANSWER_BYTES): Promise<AnswerBody> {
  if (response.body === null) return { text: "", truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: decode(chunks), truncated: false };
    const room = maxBytes - size;
    if (value.byteLength > room) {
      chunks.push(value.subarray(0, room));
      // Cancelling tells fetch we want no more: it closes the connection instead of draining it.
      await reader.cancel("the answer is larger than an upload result or error can be");
      return { text: decode(chunks), truncated: true };
    }
    chunks.push(value);
    size += value.byteLength;
  }
}

function decode(chunks: Uint8Array[]): string {
  const decoder = new TextDecoder();
  // stream: true until the end, so a character split across chunks is decoded whole.
  return chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join("") + decoder.decode();
}

/**
 * A success status whose body is not the result the command expects: whatever answered is
 * probably not an IoT Support server (or not one that knows this request).
 */
export function notAResult(
  command: string,
  result: string,
  status: number,
  answer: AnswerBody,
  requestId: string,
): CliError {
  return new CliError(
    "REFUSED",
    `the server answered ${status} but not with ${result}; is --server an IoT Support server?`,
    {
      notes: [
        ...(answer.truncated
          ? [`its body was longer than ${formatBytes(MAX_ANSWER_BYTES)}, and ${command} read no more of it`]
          : []),
        `request id: ${requestId}`,
      ],
    },
  );
}
