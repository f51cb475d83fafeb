/**
 * A server's refusal → what the user should know: the server's own message and
 * code, what it means for this command, and the correlation id that finds the
 * server's log line. Classified by status, code and details.field only, never
 * by the message text (which the server may reword).
 */
import { CliError } from "./errors.js";
import { formatBytes } from "./units.js";

export interface ErrorBody {
  error: string;
  details: Record<string, unknown>;
  code: string;
  status: number;
  correlationId?: string;
}

export interface Refusal {
  status: number;
  statusText: string;
  /** The parsed error body, when the answer had the server's error shape. */
  body?: ErrorBody;
  /** From the X-Request-Id response header, when the body has no correlation id. */
  requestId?: string;
  /** Seconds, from Retry-After. */
  retryAfter?: number;
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

/** What a refusing answer says, from its status, headers and body text. */
export function refusalOf(response: Response, text: string, requestId: string, nowMs: number): Refusal {
  return {
    status: response.status,
    statusText: response.statusText,
    body: parseErrorBody(text),
    requestId: printable(response.headers.get("x-request-id") ?? requestId),
    retryAfter: retryAfterSeconds(response.headers.get("retry-after"), nowMs),
    serverDate: response.headers.get("date") ?? undefined,
  };
}

/** Retry-After in seconds: either a number of seconds or an HTTP date. */
export function retryAfterSeconds(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000));
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
    error: printable(v.error),
    code: printable(v.code),
    status: typeof v.status === "number" ? v.status : 0,
    details: typeof v.details === "object" && v.details !== null ? (v.details as Record<string, unknown>) : {},
    correlationId: typeof v.correlationId === "string" ? printable(v.correlationId) : undefined,
  };
}

/** The server's text goes to a terminal: no control characters, so no escape sequences from afar. */
const printable = (text: string) => text.replace(/\p{Cc}/gu, "?");

export function refusalError(r: Refusal, facts: RequestFacts): CliError {
  const body = r.body;
  const headline = body
    ? `the server refused the upload (${r.status} ${body.code}): ${body.error}`
    : `the server refused the upload: HTTP ${r.status} ${r.statusText}`.trimEnd();
  const notes = body ? explain(body, r, facts) : ["the answer was not the server's JSON error (a proxy in between?)"];
  const id = body?.correlationId ?? r.requestId;
  notes.push(`correlation id: ${id ?? "none given"} (the server's log line for this request carries it)`);
  const retry = body?.code === "SERVER_BUSY" ? { afterSeconds: r.retryAfter } : undefined;
  return new CliError("REFUSED", headline, { notes, retry });
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
      const when = r.retryAfter !== undefined ? `in ${r.retryAfter} s (Retry-After)` : "in a little while";
      return [
        `the server is handling too many uploads at once; try again ${when}, or pass --retries N to wait and retry automatically`,
      ];
    }
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
      return field ? [`field ${printable(field)}`] : [];
  }
}
