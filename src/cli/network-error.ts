/**
 * A failed fetch → one clear sentence. fetch (undici) rejects with a generic
 * "fetch failed" TypeError; the system error that says what happened is its
 * `cause` (an AggregateError when every address of a host refused).
 */
import { CliError, systemCode } from "./errors.js";
import { formatBytes } from "./units.js";

export interface Transfer {
  endpoint: URL;
  sent: number;
  total: number;
  requestId: string;
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
    message = `the server at ${where} stopped answering${tag} after about ${formatBytes(t.sent)} of ${formatBytes(t.total)} were sent`;
  } else if (code && BROKEN.has(code)) {
    // The server stores nothing from an incomplete body; once it was all sent, it may have.
    const outcome =
      t.sent < t.total ? "the server stores nothing from an incomplete upload" : "the server may have stored it";
    message = `the connection to ${where} broke${tag} after about ${formatBytes(t.sent)} of ${formatBytes(t.total)} were sent; ${outcome}`;
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

function innermostMessage(error: unknown): string {
  let current: unknown = error;
  let message = error instanceof Error ? error.message : String(error);
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    message = current.message || message;
    current = current.cause;
  }
  return message;
}
