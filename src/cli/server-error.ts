/**
 * A server's refusal → what the user should know: the server's own message and
 * code, what it means for this command, and the correlation id that finds the
 * server's log line. Classified by status, code and details.field only, never
 * by the message text (which the server may reword).
 */
import type { AnswerBody } from "./answer-body.js";
import { MAX_ANSWER_BYTES } from "./answer-body.js";
import { CliError } from "./errors.js";
import { MAX_RETRY_AFTER_SECONDS, parseRetryAfter, type RetryAfter } from "./retry-after.js";
import { forTerminal, MAX_MESSAGE_CHARS, MAX_NAME_CHARS } from "./terminal-text.js";
import { formatBytes } from "./units.js";

export interface ErrorBody {
  error: string;
  details: Record<string, unknown>;
  code: string;
  status: number;
  correlationId?: string;
}

/** Every string in here that came from the server is already safe for a terminal (see terminal-text.ts). */
export interface Refusal {
  status: number;
  statusText: string;
  /** The server sent a longer body than MAX_ANSWER_BYTES; only its start was read. */
  bodyTruncated: boolean;
  /** The parsed error body, when the answer had the server's error shape. */
  body?: ErrorBody;
  /** From the X-Request-Id response header, when the body has no correlation id. */
  requestId?: string;
  /** From Retry-After, capped. */
  retryAfter?: RetryAfter;
  /** The server's clock, from the Date header. */
  serverDate?: string;
}

export interface RequestFacts {
  signatureVersion: 1 | 2;
  timestampPinned: boolean;
  bodyBytes: number;
  fileBytes: number;
  /** The local clock when the answer came, ISO. */
  localDate: string;
}

/** What a refusing answer says, from its status, headers and (bounded) body. */
export function refusalOf(response: Response, answer: AnswerBody, requestId: string, nowMs: number): Refusal {
  const date = response.headers.get("date");
  return {
    status: response.status,
    statusText: forTerminal(response.statusText, MAX_MESSAGE_CHARS),
    bodyTruncated: answer.truncated,
    body: answer.truncated ? undefined : parseErrorBody(answer.text),
    requestId: forTerminal(response.headers.get("x-request-id") ?? requestId, MAX_NAME_CHARS),
    retryAfter: parseRetryAfter(response.headers.get("retry-after"), nowMs),
    serverDate: date === null ? undefined : forTerminal(date, MAX_NAME_CHARS),
  };
}

/** Parses an answer's body as the server's error shape, or undefined for anything else (a proxy's page). */
export function parseErrorBody(text: string): ErrorBody | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON, e.g. an HTML error page from a proxy: the caller falls back to the status line.
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.error !== "string" || typeof v.code !== "string") return undefined;
  return {
    error: forTerminal(v.error, MAX_MESSAGE_CHARS),
    code: forTerminal(v.code, MAX_NAME_CHARS),
    status: typeof v.status === "number" ? v.status : 0,
    details: typeof v.details === "object" && v.details !== null ? (v.details as Record<string, unknown>) : {},
    correlationId: typeof v.correlationId === "string" ? forTerminal(v.correlationId, MAX_NAME_CHARS) : undefined,
  };
}

export function refusalError(r: Refusal, facts: RequestFacts): CliError {
  const body = r.body;
  const headline = body
    ? `the server refused the upload (${r.status} ${body.code}): ${body.error}`
    : `the server refused the upload: HTTP ${r.status} ${r.statusText}`.trimEnd();
  const notes = body ? explain(body, r, facts) : [notTheServersError(r)];
  const id = body?.correlationId ?? r.requestId;
  notes.push(`correlation id: ${id ?? "none given"} (the server's log line for this request carries it)`);
  const retry =
    body?.code === "SERVER_BUSY" ? { afterSeconds: r.retryAfter?.seconds, capped: r.retryAfter?.capped } : undefined;
  return new CliError("REFUSED", headline, { notes, retry });
}

function notTheServersError(r: Refusal): string {
  if (r.bodyTruncated) {
    return `the answer was not the server's JSON error: its body was longer than ${formatBytes(MAX_ANSWER_BYTES)}, and iot-upload read no more of it`;
  }
  return "the answer was not the server's JSON error (a proxy in between?)";
}

function explain(body: ErrorBody, r: Refusal, facts: RequestFacts): string[] {
  switch (body.code) {
    case "VALIDATION_FAILED":
      return explainField(String(body.details.field ?? ""), r, facts);
    case "PAYLOAD_TOO_LARGE": {
      const max = Number(body.details.max_bytes);
      const limit = Number.isFinite(max) ? `${formatBytes(max)} (${max} bytes)` : "its configured limit";
      return [
        `the server accepts request bodies of at most ${limit}; this upload is ${formatBytes(facts.bodyBytes)} (${facts.bodyBytes} bytes: the file's ${facts.fileBytes} bytes plus the form fields)`,
      ];
    }
    case "SERVER_BUSY": {
      const when = r.retryAfter === undefined ? "in a little while" : `in ${retryAfterText(r.retryAfter)}`;
      return [
        `the server is handling too many uploads at once; try again ${when}, or pass --retries N to wait and retry automatically`,
      ];
    }
    case "NAME_OCCUPIED":
      return [
        "the server's assets directory holds a directory with this file's name, which it will not remove; its operator must move it, or upload under another name",
      ];
    case "STORAGE_FULL":
      return ["the server's storage is full; its operator must free space before anything more can be uploaded"];
    case "STORAGE_UNAVAILABLE":
      return ["the server cannot reach its storage right now; try again later, or ask its operator"];
    case "REQUEST_TIMEOUT":
      return ["the server gave up waiting for the rest of the upload (a slow or stalled connection); try again"];
    case "UNAUTHORIZED":
      return ["the server wants credentials, which this version of iot-upload does not send"];
    case "FORBIDDEN":
      return ["the server does not allow this client to upload; ask its operator"];
    case "INTERNAL_ERROR":
      return ["the server failed unexpectedly; its operator can find why in its log by the correlation id below"];
    default:
      return [`the server answered with code ${body.code}, which this version of iot-upload does not know`];
  }
}

function explainField(field: string, r: Refusal, facts: RequestFacts): string[] {
  switch (field) {
    case "signature": {
      const notes = [
        "field signature: the server's key does not match --key, or the signature was already used (the server accepts each signature once)",
      ];
      if (facts.timestampPinned) notes.push("with --timestamp, the same file and name always give the same signature");
      if (facts.signatureVersion === 2) notes.push("if the server predates signature version 2, upload with --v1");
      else notes.push("if the server requires signature version 2, upload without --v1");
      return notes;
    }
    case "timestamp": {
      if (facts.timestampPinned)
        return ["field timestamp: the --timestamp given is malformed or too far from the server's time"];
      const clocks = r.serverDate ? ` (server: ${r.serverDate}; this machine: ${facts.localDate})` : "";
      return [`field timestamp: your clock differs from the server's by more than the tolerance${clocks}`];
    }
    case "filename":
      return ["field filename: the server does not accept this asset name; choose another with --name"];
    case "file":
      return ["field file: the server did not get the file part"];
    case "body":
      return [
        "field body: the server could not read the upload completely (a broken connection or a proxy in between?)",
      ];
    default:
      return field ? [`field ${forTerminal(field, MAX_NAME_CHARS)}`] : [];
  }
}

/** "12 s (Retry-After)", or with a note when the server asked for more than we wait. */
export function retryAfterText(r: RetryAfter): string {
  return r.capped
    ? `${r.seconds} s (Retry-After asked for longer; iot-upload waits at most ${MAX_RETRY_AFTER_SECONDS} s)`
    : `${r.seconds} s (Retry-After)`;
}
