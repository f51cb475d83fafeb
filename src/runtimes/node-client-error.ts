/**
 * Node's `clientError`: requests its parser refuses before they reach the app (for
 * example Content-Length together with Transfer-Encoding, the request-smuggling
 * pattern RFC 9112 says to treat as an error) and the headers deadline. Answered
 * in the API's error shape instead of Node's bare "400 Bad Request", then closed.
 */
import type { Duplex } from "node:stream";
import type { Logger } from "../core/logger.js";
import { endWithRawError } from "./node-error-response.js";
import { type ClientErrorLike, describeClientError, type ParserLimits } from "./node-parse-errors.js";

export interface ClientErrorOptions extends ParserLimits {
  logger?: Logger;
}

/**
 * Node sets `_httpMessage` on the socket from the moment a request is dispatched
 * until its response has been written; responses to pipelined requests queue
 * behind it and take its place in turn, so it is empty only when none is owed.
 */
const responseOutstanding = (socket: Duplex) => (socket as { _httpMessage?: unknown })._httpMessage != null;

export function createClientErrorHandler(options: ClientErrorOptions) {
  // Sockets already answered: the parser keeps failing on whatever else arrives, one event per chunk.
  const answered = new WeakSet<Duplex>();

  return function answerClientError(error: Error & ClientErrorLike, socket: Duplex): void {
    if (answered.has(socket)) return;
    const refusal = describeClientError(error, options);
    // Writing now would put our bytes into, or ahead of, a response the client is already reading;
    // a connection cut short is detectable through Content-Length, spliced bytes are not.
    const canAnswer = refusal !== undefined && socket.writable && !responseOutstanding(socket);
    options.logger?.debug("client error", {
      errCode: error.code ?? "unknown",
      reason: error.reason,
      answered: canAnswer ? refusal.status : false,
    });
    if (!canAnswer) {
      socket.destroy();
      return;
    }
    answered.add(socket);
    endWithRawError(socket, refusal);
  };
}
