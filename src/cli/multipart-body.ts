/**
 * The upload's multipart/form-data body as a stream: the text fields, then the
 * file read in chunks, then the closing boundary. Its exact length is known up
 * front, so the request carries Content-Length and a server can refuse an
 * oversized upload before reading it.
 */
import { randomBytes } from "node:crypto";

export interface BodyParts {
  /** Text fields, sent in this order before the file. */
  fields: Array<[name: string, value: string]>;
  filename: string;
  fileSize: number;
  fileChunks: () => AsyncIterable<Uint8Array>;
}

export interface MultipartBody {
  contentType: string;
  length: number;
  /**
   * A fresh stream over the whole body. `onBytes` is told of every chunk handed to the
   * transport, `file` true for the file's own bytes and false for the form around them;
   * `onStarted` when the transport first asks for the body. fetch asks only once it has a
   * connection to write to (the stream reads nothing ahead), so a refused connection never
   * gets that far.
   */
  stream(
    onBytes: (n: number, file: boolean) => void,
    onError: (error: unknown) => void,
    onStarted?: () => void,
  ): ReadableStream<Uint8Array>;
}

const encoder = new TextEncoder();

export function multipartBody(
  parts: BodyParts,
  boundary = `iot-upload-${randomBytes(16).toString("hex")}`,
): MultipartBody {
  const head = parts.fields
    .map(([name, value]) => `--${boundary}\r\n${disposition(name)}\r\n\r\n${value}\r\n`)
    .join("");
  const preamble = encoder.encode(
    `${head}--${boundary}\r\n${disposition("file", parts.filename)}\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const epilogue = encoder.encode(`\r\n--${boundary}--\r\n`);
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: preamble.byteLength + parts.fileSize + epilogue.byteLength,
    stream(onBytes, onError, onStarted) {
      const source = (async function* () {
        yield { bytes: preamble, file: false };
        for await (const bytes of parts.fileChunks()) yield { bytes, file: true };
        yield { bytes: epilogue, file: false };
      })();
      let started = false;
      return new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            if (!started) {
              started = true;
              onStarted?.();
            }
            try {
              const next = await source.next();
              if (next.done) {
                controller.close();
                return;
              }
              controller.enqueue(next.value.bytes);
              onBytes(next.value.bytes.byteLength, next.value.file);
            } catch (error) {
              // fetch reports a failed body only as a generic "fetch failed": keep the real cause.
              onError(error);
              controller.error(error);
            }
          },
          async cancel() {
            // The transport gave up (e.g. the server answered early): stop reading the file.
            await source.return(undefined);
          },
        },
        // No read-ahead: a stream's default queue of one chunk is filled as soon as it is made,
        // before any connection, and progress would count bytes that never left.
        { highWaterMark: 0 },
      );
    },
  };
}

/**
 * A Content-Disposition header. A name that is not plain ASCII (or holds a quote
 * or backslash) also goes as RFC 5987 `filename*`, which the server prefers, so the
 * stored name is exactly the signed one and the header stays one safe line.
 */
function disposition(name: string, filename?: string): string {
  const base = `Content-Disposition: form-data; name="${name}"`;
  if (filename === undefined) return base;
  // Printable ASCII only: control characters (CR, LF) must never reach a header line.
  const plain = /^[\x20-\x7e]*$/.test(filename) && !/["\\]/.test(filename);
  if (plain) return `${base}; filename="${filename}"`;
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const encoded = encodeURIComponent(filename).replace(
    /['()*!]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${base}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
