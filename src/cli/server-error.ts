/**
 * A server's refusal → what the user should know: the server's own message and
 * code, what it means for this command, and the correlation id that finds the
 * server's log line. Classified by status, code and details.field only, never
 * by the message text (which the server may reword).
 */
import type { AnswerBody } from "./answer-body.js";
import { MAX_ANSWER_BYTES } from "./answer-body.js";
import { CliError } from "./errors.js";
import { parseRetryAfter, type RetryAfter } from "./retry-after.js";
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

/** How one command words a refusal. */
export interface RefusalWording {
  /** The command's name, e.g. `iot-upload`. */
  command: string;
  /** What was refused, to follow "the server refused": "the upload". */
  action: string;
  /** The command's own reading of the server's error; undefined leaves it to the shared reading. */
  explain?: (body: ErrorBody, r: Refusal) => string[] | undefined;
}

export function refusalError(r: Refusal, wording: RefusalWording): CliError {
  const body = r.body;
  const headline = body
    ? `the server refused ${wording.action} (${r.status} ${body.code}): ${body.error}`
    : `the server refused ${wording.action}: HTTP ${r.status} ${r.statusText}`.trimEnd();
  const notes = body
    ? (wording.explain?.(body, r) ?? sharedExplanation(body, wording.command))
    : [notTheServersError(r, wording.command)];
  const id = body?.correlationId ?? r.requestId;
  notes.push(`correlation id: ${id ?? "none given"} (the server's log line for this request carries it)`);
  const retry =
    body?.code === "SERVER_BUSY" ? { afterSeconds: r.retryAfter?.seconds, capped: r.retryAfter?.capped } : undefined;
  return new CliError("REFUSED", headline, { notes, retry });
}

function notTheServersError(r: Refusal, command: string): string {
  if (r.bodyTruncated) {
    return `the answer was not the server's JSON error: its body was longer than ${formatBytes(MAX_ANSWER_BYTES)}, and ${command} read no more of it`;
  }
  return "the answer was not the server's JSON error (a proxy in between?)";
}

/** Codes that mean the same whatever the request was. */
export function sharedExplanation(body: ErrorBody, command: string): string[] {
  switch (body.code) {
    case "STORAGE_UNAVAILABLE":
      return ["the server cannot reach its storage right now; try again later, or ask its operator"];
    case "INTERNAL_ERROR":
      return ["the server failed unexpectedly; its operator can find why in its log by the correlation id below"];
    case "MISDIRECTED_REQUEST":
      return [
        "the server answers only to the host names in its ALLOWED_HOSTS, and the host in --server is not one of them",
      ];
    default:
      return [`the server answered with code ${body.code}, which this version of ${command} does not know`];
  }
}
