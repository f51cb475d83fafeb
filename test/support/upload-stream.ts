/**
 * Signed upload bodies sent as a client streams them: the fields, then the file part in
 * chunks, optionally paused at a chosen byte of the file until the test lets it go on.
 * Tests that fill a volume or exhaust the upload slots use this to hold several uploads
 * open at a known point, instead of guessing how long a send takes.
 */
import { createHash } from "node:crypto";

const enc = new TextEncoder();

let lastTimestampMs = 0;

/**
 * A timestamp no earlier call in this process returned. RSA PKCS#1 v1.5 signatures are
 * deterministic, so two uploads signed over the same millisecond would carry the same
 * signature, and the second would be refused as a replay.
 */
export function freshTimestamp(): string {
  lastTimestampMs = Math.max(Date.now(), lastTimestampMs + 1);
  return new Date(lastTimestampMs).toISOString();
}

export type SignatureVersion = 1 | 2;

/** What a client signs and sends besides the file: the tuple a replay attacker captures. */
export interface SignedFields {
  timestamp: string;
  signature: string;
  version: SignatureVersion;
  /** Send `signature_version=1` explicitly (version 1 only; version 2 always sends it). */
  explicitVersion?: boolean;
}

/** Signs a fresh timestamp (version 1) or timestamp, name and content hash (version 2). */
export function signFields(
  sign: (text: string) => string,
  version: SignatureVersion,
  filename: string,
  content: Uint8Array,
): SignedFields {
  const timestamp = freshTimestamp();
  const text =
    version === 1 ? timestamp : `${timestamp}\n${filename}\n${createHash("sha256").update(content).digest("hex")}`;
  return { timestamp, signature: sign(text), version };
}

export interface UploadBodyOptions {
  fields: SignedFields;
  filename: string;
  content: Uint8Array;
  /** The file part before the fields (the server must spool it, then discard it on refusal). */
  fileFirst?: boolean;
  boundary?: string;
}

/** The three pieces of a multipart upload: what precedes the file's bytes, the bytes, what follows. */
function uploadPieces(options: UploadBodyOptions) {
  const boundary = options.boundary ?? `----iotsupport-stream-${Math.random().toString(16).slice(2)}`;
  const { fields } = options;
  const field = (name: string, value: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  let text = field("timestamp", fields.timestamp) + field("signature", fields.signature);
  if (fields.version === 2 || fields.explicitVersion) text += field("signature_version", String(fields.version));
  const fileHead =
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${options.filename}"\r\n` +
    "Content-Type: application/octet-stream\r\n\r\n";
  const before = options.fileFirst ? fileHead : text + fileHead;
  const after = options.fileFirst ? `\r\n${text}--${boundary}--\r\n` : `\r\n--${boundary}--\r\n`;
  return {
    before: enc.encode(before),
    after: enc.encode(after),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

/** The whole body in one piece. */
export function uploadBody(options: UploadBodyOptions): { body: Uint8Array<ArrayBuffer>; contentType: string } {
  const { before, after, contentType } = uploadPieces(options);
  const body = new Uint8Array(before.length + options.content.length + after.length);
  body.set(before, 0);
  body.set(options.content, before.length);
  body.set(after, before.length + options.content.length);
  return { body, contentType };
}

export interface StreamedUpload {
  contentType: string;
  /** Bytes of the whole body. */
  length: number;
  stream: ReadableStream<Uint8Array>;
  /** Resolves once the client has handed over every byte before the hold point. */
  held: Promise<void>;
  /** File bytes handed over so far. */
  sent(): number;
  /** Sends the rest and ends the body. */
  finish(): void;
  /** Ends the body with an error, as a client that went away. */
  fail(): void;
}

export interface StreamedUploadOptions extends UploadBodyOptions {
  /** Pause after this many bytes of the file (no pause when absent). Only for the file-last order. */
  holdAt?: number;
  chunkSize?: number;
}

/** A streamed upload body that can be held open part-way through the file. */
export function streamedUpload(options: StreamedUploadOptions): StreamedUpload {
  const { before, after, contentType } = uploadPieces(options);
  const { content } = options;
  const chunkSize = options.chunkSize ?? 64 * 1024;
  const holdAt = Math.min(options.holdAt ?? content.length, content.length);
  if (options.fileFirst && options.holdAt !== undefined) throw new Error("holding is only for fields-first bodies");

  let decide: (how: "finish" | "fail") => void = () => undefined;
  const decided = new Promise<"finish" | "fail">((resolve) => {
    decide = resolve;
  });
  let reached: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    reached = resolve;
  });
  if (options.holdAt === undefined) reached();

  let offset = 0;
  let stage: "before" | "file" | "after" | "done" = "before";
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (stage === "before") {
        controller.enqueue(before);
        stage = "file";
        return;
      }
      if (stage === "file") {
        if (options.holdAt !== undefined && offset === holdAt) {
          reached();
          if ((await decided) === "fail") {
            controller.error(new Error("client went away"));
            stage = "done";
            return;
          }
        }
        // Never cross the hold point in one chunk, so the pause falls exactly on it.
        const end = Math.min(offset + chunkSize, offset < holdAt ? holdAt : content.length);
        if (end > offset) {
          controller.enqueue(content.subarray(offset, end));
          offset = end;
          return;
        }
        stage = "after";
      }
      if (stage === "after") {
        controller.enqueue(after);
        stage = "done";
        return;
      }
      controller.close();
    },
  });
  return {
    contentType,
    length: before.length + content.length + after.length,
    stream,
    held,
    sent: () => offset,
    finish: () => decide("finish"),
    fail: () => decide("fail"),
  };
}

/** `size` reproducible bytes that differ from one `seed` to the next. */
export function patternBytes(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let x = (seed * 2654435761 + 1) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    // xorshift32: cheap, and no run of it repeats within a file.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}
