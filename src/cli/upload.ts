/**
 * One upload attempt: sign, stream the multipart body to the server with an exact
 * Content-Length, and turn the answer into a result or a typed CliError.
 */

import { type KeyObject, randomUUID } from "node:crypto";
import { type AnswerBody, notAResult } from "./answer-body.js";
import { isCliError } from "./errors.js";
import type { FileSource } from "./file-source.js";
import { multipartBody } from "./multipart-body.js";
import { networkError, readAnswer } from "./network-error.js";
import type { Progress } from "./progress.js";
import { refusalOf } from "./server-error.js";
import { type SignatureVersion, signUpload } from "./signature.js";
import { forTerminal, MAX_NAME_CHARS } from "./terminal-text.js";
import { uploadRefusal } from "./upload-refusal.js";

export interface AttemptInput {
  endpoint: URL;
  name: string;
  key: KeyObject;
  version: SignatureVersion;
  source: FileSource;
  /** A pinned timestamp; otherwise the current time, in milliseconds, so each attempt signs afresh. */
  timestamp?: string;
}

export interface AttemptDeps {
  fetch: typeof fetch;
  /** Wall clock: the signed timestamp, Retry-After dates, the clock comparison on a timestamp refusal. */
  clock: () => Date;
  progress: Progress;
}

/** The server's result; its strings are already safe for a terminal (see terminal-text.ts). */
export interface Uploaded {
  filename: string;
  size: number;
  uploaded_at: string;
}

// RequestInit in the DOM lib predates streaming request bodies, which need `duplex`.
type StreamingInit = RequestInit & { duplex: "half" };

export async function attemptUpload(input: AttemptInput, deps: AttemptDeps): Promise<Uploaded> {
  const timestamp = input.timestamp ?? deps.clock().toISOString();
  const signature = signUpload(input.key, input.version, {
    timestamp,
    filename: input.name,
    sha256: input.source.sha256,
  });
  // Version 2 fields come first and the file last: the server checks what precedes the file before storing any of it.
  const fields: Array<[string, string]> = [
    ...(input.version === 2 ? [["signature_version", "2"] as [string, string]] : []),
    ["timestamp", timestamp],
    ["signature", signature],
  ];
  const body = multipartBody({
    fields,
    filename: input.name,
    fileSize: input.source.size,
    fileChunks: () => input.source.chunks(),
  });
  // Sent as X-Request-Id, which the server adopts as its correlation id: even a request
  // whose answer never arrives can then be found in the server's log.
  const requestId = randomUUID();
  // The whole body's bytes, for what a broken connection means; progress shows the file's alone.
  let sent = 0;
  let fileSent = 0;
  const transfer = () => ({ endpoint: input.endpoint, sent, total: body.length, requestId });
  let bodyError: unknown;
  const stream = body.stream(
    (n, file) => {
      sent += n;
      if (!file) return;
      fileSent += n;
      deps.progress.update(fileSent);
    },
    (error) => {
      bodyError = error;
    },
    // Only once fetch has a connection to write to: nothing is shown for a request that never connects.
    () => deps.progress.start(input.source.size),
  );

  let response: Response;
  try {
    const init: StreamingInit = {
      method: "POST",
      headers: {
        "Content-Type": body.contentType,
        "Content-Length": String(body.length),
        "X-Request-Id": requestId,
        Accept: "application/json",
      },
      body: stream,
      duplex: "half",
      // Not following redirects is what keeps memory flat: otherwise fetch clones the request
      // for a possible redirect, teeing the body, and the unread branch buffers the whole file
      // (nodejs/undici#4058, in Node 20's fetch). A streamed body could not be resent anyway.
      redirect: "error",
    };
    response = await deps.fetch(input.endpoint, init);
  } catch (error) {
    deps.progress.finish();
    // A local failure while reading the file surfaces here only as "fetch failed".
    if (isCliError(bodyError)) throw bodyError;
    throw networkError(error, transfer());
  }
  // The answer's headers are here: as far as sending goes, the upload is over.
  deps.progress.finish();
  const answer = await readAnswer(response, transfer);
  if (isCliError(bodyError)) throw bodyError;

  if (response.ok) return parseResult(answer, response.status, requestId);

  throw uploadRefusal(refusalOf(response, answer, requestId, deps.clock().getTime()), {
    signatureVersion: input.version,
    timestampPinned: input.timestamp !== undefined,
    bodyBytes: body.length,
    fileBytes: input.source.size,
    localDate: deps.clock().toUTCString(),
  });
}

function parseResult(answer: AnswerBody, status: number, requestId: string): Uploaded {
  let value: Partial<Uploaded> | undefined;
  try {
    value = answer.truncated ? undefined : (JSON.parse(answer.text) as Partial<Uploaded>);
  } catch {
    // Handled below with the same message as a JSON answer of the wrong shape.
    value = undefined;
  }
  if (typeof value?.filename !== "string" || typeof value.size !== "number" || typeof value.uploaded_at !== "string") {
    throw notAResult("iot-upload", "an upload result", status, answer, requestId);
  }
  return {
    filename: forTerminal(value.filename, MAX_NAME_CHARS),
    size: value.size,
    uploaded_at: forTerminal(value.uploaded_at, MAX_NAME_CHARS),
  };
}
