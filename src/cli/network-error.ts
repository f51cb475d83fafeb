/**
 * A failed fetch → one clear sentence. fetch (undici) rejects with a generic
 * "fetch failed" TypeError; the system error that says what happened is its
 * `cause` (an AggregateError when every address of a host refused).
 */
import { type AnswerBody, MAX_ANSWER_BYTES, readAnswerBody } from "./answer-body.js";
import { CliError, systemCode } from "./errors.js";
import { formatBytes } from "./units.js";

export interface Transfer {
  endpoint: URL;
  requestId: string;
  /** Bytes of the request body sent so far, and its length; absent for a request without a body. */
  sent?: number;
  total?: number;
}

const REFUSED = new Set(["ECONNREFUSED"]);
const DNS = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL"]);
const UNREACHABLE = new Set(["EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN"]);
const CONNECT_TIMEOUT = new Set(["UND_ERR_CONNECT_TIMEOUT"]);
/** fetch's own limits on a silent server: no answer, or an answer that stalls. */
const ANSWER_TIMEOUT = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);
const BROKEN = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "ETIMEDOUT", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);

/** The system error inside a fetch failure: its code, and the call that failed (connect, write, ...). */
export function systemError(error: unknown): { code?: string; syscall?: string } {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof AggregateError) current = current.errors[0];
    const code = systemCode(current);
    if (code && code !== "ERR_INVALID_STATE") {
      const syscall = (current as { syscall?: unknown }).syscall;
      return { code, syscall: typeof syscall === "string" ? syscall : undefined };
    }
    current = (current as { cause?: unknown }).cause;
  }
  return {};
}

export function networkError(error: unknown, t: Transfer): CliError {
  const { code, syscall } = systemError(error);
  const where = t.endpoint.host;
  const tag = code ? ` (${code})` : "";
  let message: string;
  if (code && REFUSED.has(code)) {
    message = `could not reach the server: nothing is listening at ${where}${tag}; is it running, and is --server right?`;
  } else if (code && DNS.has(code)) {
    message = `could not reach the server: the host name ${t.endpoint.hostname} does not resolve${tag}`;
  } else if (code && UNREACHABLE.has(code)) {
    message = `could not reach the server: no route to ${where}${tag}`;
  } else if (code && (CONNECT_TIMEOUT.has(code) || (code === "ETIMEDOUT" && syscall === "connect"))) {
    message = `could not reach the server: connecting to ${where} timed out${tag}`;
  } else if (code && ANSWER_TIMEOUT.has(code)) {
    message = `the server at ${where} stopped answering${tag}${afterSent(t)}`;
  } else if (code && BROKEN.has(code)) {
    message = `the connection to ${where} broke${tag}${afterSent(t)}; ${brokenOutcome(t)}`;
  } else {
    // No system code: fetch itself gave up, e.g. on a redirect, which an upload does not follow.
    const detail = innermostMessage(error);
    message = `the request to ${where} failed: ${detail}${tag} (if the server redirects, e.g. to https, give the final URL as --server)`;
  }
  return new CliError("NETWORK", message, {
    cause: error,
    notes: [`request id: ${t.requestId} (sent as X-Request-Id, in case the request reached the server's log)`],
  });
}

/** How far the body got, for a request that has one. */
const afterSent = (t: Transfer) =>
  t.total === undefined ? "" : ` after about ${formatBytes(t.sent ?? 0)} of ${formatBytes(t.total)} were sent`;

/** What a broken connection means for the request. */
function brokenOutcome(t: Transfer): string {
  // A request without a body may have been carried out before the answer was lost.
  if (t.total === undefined) return "the server may have carried out the request before the answer was lost";
  // The server stores nothing from an incomplete body; once it was all sent, it may have.
  return (t.sent ?? 0) < t.total
    ? "the server stores nothing from an incomplete upload"
    : "the server may have stored it";
}

/**
 * The answer's (bounded) body; a connection that breaks after the headers came is a network
 * error. `transfer` is asked only then, so it tells how much of the body had been sent by that time.
 * `maxBytes` for answers that are larger by nature (a list of rollouts with their patches).
 */
export async function readAnswer(
  response: Response,
  transfer: () => Transfer,
  maxBytes = MAX_ANSWER_BYTES,
): Promise<AnswerBody> {
  try {
    return await readAnswerBody(response, maxBytes);
  } catch (error) {
    throw networkError(error, transfer());
  }
}

function innermostMessage(error: unknown): string {
  let current: unknown = error;
  let message = error instanceof Error ? error.message : String(error);
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    message = current.message || message;
    current = current.cause;
  }
  return message;
}
