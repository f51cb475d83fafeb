/**
 * Answers requests that Node's HTTP parser refuses before they reach the app (for
 * example Content-Length together with Transfer-Encoding, the request-smuggling
 * pattern RFC 9112 says to treat as an error) in SPEC's error shape instead of
 * Node's bare "400 Bad Request", then closes the connection.
 */
import { randomUUID } from "node:crypto";
import type { Duplex } from "node:stream";

const REASONS: Record<string, string> = {
  HPE_UNEXPECTED_CONTENT_LENGTH: "Content-Length must not be sent together with Transfer-Encoding",
  HPE_INVALID_CONTENT_LENGTH: "Content-Length is invalid",
  HPE_INVALID_TRANSFER_ENCODING: "Transfer-Encoding is invalid",
  HPE_HEADER_OVERFLOW: "Request headers are too large",
};

export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
  const body = JSON.stringify({
    error: `Malformed HTTP request: ${REASONS[error.code ?? ""] ?? "the request could not be parsed"}`,
    details: { reason: error.code ?? "unknown" },
    code: "VALIDATION_FAILED",
    status,
    correlationId: randomUUID(),
  });
  const text = status === 431 ? "Request Header Fields Too Large" : "Bad Request";
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
