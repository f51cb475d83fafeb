/**
 * A streaming multipart/form-data parser over Web streams (runtime-neutral).
 *
 * Part bodies are yielded as they arrive, as sub-arrays of the incoming chunks,
 * so memory stays bounded by the chunk size whatever the file size. Each part's
 * body must be consumed (or skipped with `drain`) before the next part is read.
 */
import { validationFailed } from "../../core/errors.js";

export interface PartInfo {
  name: string;
  /** Present when the part is a file (even when empty: `filename=""`). */
  filename?: string;
  contentType?: string;
}

export interface Part extends PartInfo {
  body: AsyncIterable<Uint8Array>;
}

const MAX_HEADER_BYTES = 16 * 1024;
/** Transport padding (spaces and tabs) allowed between a boundary and its CRLF. */
const MAX_PADDING_BYTES = 256;
const CRLF = new Uint8Array([13, 10]);
const HEADER_END = new Uint8Array([13, 10, 13, 10]);
const malformed = (why: string) => validationFailed(`Malformed multipart body: ${why}`, { field: "body" });

export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const [media, ...params] = contentType.split(";");
  if (media?.trim().toLowerCase() !== "multipart/form-data") return undefined;
  for (const param of params) {
    const eq = param.indexOf("=");
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== "boundary") continue;
    let value = param.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    // RFC 2046: 1 to 70 characters.
    return value.length >= 1 && value.length <= 70 ? value : undefined;
  }
  return undefined;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0] as number;
  const last = haystack.length - needle.length;
  let i = haystack.indexOf(first, from);
  while (i !== -1 && i <= last) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
    i = haystack.indexOf(first, i + 1);
  }
  return -1;
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
};

/** Parses `name="..."` style parameters of a Content-Disposition value. */
function dispositionParams(value: string): Map<string, string> {
  const params = new Map<string, string>();
  // A quoted value, else (when the quote cannot close with escapes read as such) a quoted value
  // taken literally up to the line's last quote, else a bare token.
  const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|"(.*)"|([^;]*))/g;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    const key = (m[1] as string).toLowerCase();
    // Browsers and curl send backslashes literally (WHATWG form encoding percent-encodes
    // quotes instead), so only an escaped quote is unescaped; a backslash stays and is refused.
    // A browser's `filename="a\"` (a name ending in a backslash) leaves the escaped form
    // unclosed: it is read literally, `a\`, and refused, never as the bare token `"`.
    const raw = m[2] !== undefined ? m[2].replace(/\\"/g, '"') : m[3] !== undefined ? m[3] : (m[4] ?? "").trim();
    params.set(key, raw);
  }
  return params;
}

function decodeExtended(value: string): string | undefined {
  // RFC 5987: charset'lang'percent-encoded
  const m = /^([\w-]+)'[^']*'(.*)$/.exec(value);
  if (!m || (m[1] as string).toLowerCase() !== "utf-8") return undefined;
  const encoded = m[2] as string;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const hex = encoded.slice(i + 1, i + 3);
    if (encoded[i] === "%" && /^[0-9a-f]{2}$/i.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...new TextEncoder().encode(encoded[i]));
    }
  }
  // Not fatal on purpose: invalid UTF-8 becomes U+FFFD, which the filename rules refuse by name.
  return new TextDecoder("utf-8").decode(new Uint8Array(bytes));
}

function parseHeaders(block: Uint8Array): PartInfo {
  // Not fatal: a filename with invalid UTF-8 keeps a U+FFFD, which the filename rules refuse as such.
  const text = new TextDecoder("utf-8").decode(block);
  let disposition: string | undefined;
  let contentType: string | undefined;
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === "content-disposition") disposition = value;
    else if (key === "content-type") contentType = value;
  }
  if (!disposition || !/^form-data\b/i.test(disposition))
    throw malformed("part without Content-Disposition: form-data");
  const params = dispositionParams(disposition);
  const name = params.get("name");
  if (name === undefined) throw malformed("part without a name");
  const extended = params.get("filename*");
  const filename = (extended !== undefined ? decodeExtended(extended) : undefined) ?? params.get("filename");
  return { name, filename, contentType };
}

/**
 * Yields the parts of a multipart body. Throws VALIDATION_FAILED on a malformed or
 * truncated body; errors of the underlying stream (e.g. a size limit) pass through.
 */
export async function* parseMultipart(stream: ReadableStream<Uint8Array>, boundary: string): AsyncGenerator<Part> {
  const encoder = new TextEncoder();
  const delimiter = encoder.encode(`\r\n--${boundary}`);
  const reader = stream.getReader();
  // Pretend the body starts with CRLF so the first delimiter looks like the others.
  let buffer: Uint8Array = CRLF;
  let done = false;

  const pull = async (): Promise<boolean> => {
    if (done) return false;
    const { value, done: end } = await reader.read();
    if (end) {
      done = true;
      return false;
    }
    if (value && value.length > 0) buffer = concat(buffer, value);
    return true;
  };

  /** Reads until at least `n` bytes are buffered; false at end of stream. */
  const ensure = async (n: number): Promise<boolean> => {
    while (buffer.length < n) if (!(await pull())) return false;
    return true;
  };

  try {
    // Preamble: skip everything before the first delimiter.
    for (;;) {
      const at = indexOf(buffer, delimiter);
      if (at >= 0) {
        buffer = buffer.subarray(at + delimiter.length);
        break;
      }
      buffer = buffer.subarray(Math.max(0, buffer.length - delimiter.length + 1));
      if (!(await pull())) throw malformed("no boundary found");
    }

    for (;;) {
      // After a delimiter: "--" closes the body; otherwise optional padding, then CRLF.
      if (!(await ensure(2))) throw malformed("body ends after a boundary");
      if (buffer[0] === 45 && buffer[1] === 45) return;
      for (;;) {
        const eol = indexOf(buffer, CRLF);
        if (eol >= 0) {
          const padding = buffer.subarray(0, eol);
          // The length check applies here too, so the verdict does not depend on how the body was chunked.
          if (eol > MAX_PADDING_BYTES || padding.some((b) => b !== 32 && b !== 9)) {
            throw malformed("garbage after boundary");
          }
          buffer = buffer.subarray(eol + 2);
          break;
        }
        // +1: the last byte may be the CR of a CRLF split across chunks.
        if (buffer.length > MAX_PADDING_BYTES + 1) throw malformed("garbage after boundary");
        if (!(await pull())) throw malformed("body ends after a boundary");
      }

      // Headers. A form-data part always has at least Content-Disposition.
      if (!(await ensure(2))) throw malformed("body ends inside part headers");
      if (buffer[0] === 13 && buffer[1] === 10) throw malformed("part without Content-Disposition: form-data");
      let headerEnd = indexOf(buffer, HEADER_END);
      while (headerEnd < 0) {
        // No CRLFCRLF in these bytes, but one may start in their last 3: only past that is the
        // block surely too long. (Checking `length > MAX` refused a 16 KiB block split across chunks.)
        if (buffer.length - (HEADER_END.length - 1) > MAX_HEADER_BYTES) throw malformed("part headers too large");
        const scanned = buffer.length;
        if (!(await pull())) throw malformed("body ends inside part headers");
        // Rescan only the new bytes (and a possible partial terminator), not the whole block each time.
        headerEnd = indexOf(buffer, HEADER_END, Math.max(0, scanned - (HEADER_END.length - 1)));
      }
      if (headerEnd > MAX_HEADER_BYTES) throw malformed("part headers too large");
      const info = parseHeaders(buffer.subarray(0, headerEnd));
      buffer = buffer.subarray(headerEnd + HEADER_END.length);

      // Body: stream until the next delimiter.
      let finished = false;
      const body: AsyncIterable<Uint8Array> = {
        async *[Symbol.asyncIterator]() {
          while (!finished) {
            const at = indexOf(buffer, delimiter);
            if (at >= 0) {
              const chunk = buffer.subarray(0, at);
              buffer = buffer.subarray(at + delimiter.length);
              finished = true;
              if (chunk.length > 0) yield chunk;
              return;
            }
            // Keep a tail that could be the start of a delimiter split across chunks.
            const safe = buffer.length - (delimiter.length - 1);
            if (safe > 0) {
              const chunk = buffer.subarray(0, safe);
              buffer = buffer.subarray(safe);
              yield chunk;
            }
            if (!(await pull())) throw malformed("body ends inside a part");
          }
        },
      };
      yield { ...info, body };
      // The consumer may not have read the body; skip what remains of it.
      if (!finished) for await (const _ of body);
    }
  } finally {
    reader.releaseLock();
  }
}

/** Reads a text field, refusing more than `maxBytes`. */
export async function readTextPart(part: Part, maxBytes: number): Promise<string> {
  let bytes: Uint8Array = new Uint8Array(0);
  for await (const chunk of part.body) {
    if (bytes.length + chunk.length > maxBytes) {
      throw validationFailed(`Field ${part.name} is too long (at most ${maxBytes} bytes)`, { field: part.name });
    }
    bytes = concat(bytes, chunk);
  }
  return new TextDecoder("utf-8").decode(bytes);
}

export async function drain(part: Part): Promise<void> {
  for await (const _ of part.body);
}
