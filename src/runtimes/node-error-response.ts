/**
 * the API's error shape for the answers Node's server gives before a request reaches
 * the app (refused request targets, Expect: 100-continue over a limit, an Expect it
 * cannot meet, parser errors): the same body, headers and X-Request-Id rule as the
 * app's own error handler.
 */
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { correlationIdOf } from "../core/correlation-id.js";
import { type AppError, toErrorBody } from "../core/errors.js";

/** What every error answer carries, as the app's own do (its noSniffing middleware): a JSON body, never sniffed. */
export const ERROR_HEADERS: Readonly<Record<string, string>> = {
  "Content-Type": "application/json",
  "X-Content-Type-Options": "nosniff",
};

/** Answers `error` on a response that has not started, with extra headers (e.g. Connection: close). */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  error: AppError,
  headers: Record<string, string> = {},
): void {
  const correlationId = correlationIdOf(req.headers["x-request-id"]);
  const body = JSON.stringify(toErrorBody(error, correlationId));
  res.writeHead(error.status, {
    ...error.headers,
    ...headers,
    ...ERROR_HEADERS,
    "Content-Length": Buffer.byteLength(body),
    "X-Request-Id": correlationId,
  });
  res.end(body);
}

/**
 * After answering on a raw socket, what the client still sends is read and dropped
 * for this long before the socket is destroyed: closing with unread data makes the
 * kernel send a reset, which can discard the answer before the client has read it.
 */
const LINGER_MS = 5_000;

/**
 * Answers `error` on a raw socket (no ServerResponse: the parser failed or gave the
 * socket up), then closes it. With no correlation id (the headers are unknown) a fresh one.
 */
export function endWithRawError(socket: Duplex, error: AppError, correlationId: string = crypto.randomUUID()): void {
  socket.end(rawErrorResponse(error, correlationId));
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once("close", () => clearTimeout(linger));
}

/** The whole HTTP/1.1 response, as bytes for a raw socket; it always closes the connection. */
function rawErrorResponse(error: AppError, correlationId: string): string {
  const body = JSON.stringify(toErrorBody(error, correlationId));
  const lines = Object.entries({ ...error.headers, ...ERROR_HEADERS }).map(([name, value]) => `${name}: ${value}\r\n`);
  return (
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? "Error"}\r\n` +
    lines.join("") +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Request-Id: ${correlationId}\r\n` +
    `Connection: close\r\n\r\n${body}`
  );
}
