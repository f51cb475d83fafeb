/**
 * One HTTP exchange over node:http with an explicit agent. Not fetch: its pool lives
 * in a process-wide dispatcher the simulator cannot close, and the server's descriptor
 * count is only comparable before and after when every socket the simulator opened
 * is provably gone. Also lets a device stop reading after a header and drop the
 * connection, as an ESP32 OTA check does.
 */
import { type Agent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  agent: Agent;
  timeoutMs: number;
  /** Stop after this many body bytes and destroy the connection (it is not reused). */
  maxBody?: number;
}

/** Resolves with the answer whatever its status; rejects only on a network error or the timeout. */
export function send(url: URL, init: HttpRequest): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, {
      method: init.method ?? "GET",
      headers: init.body ? { ...init.headers, "Content-Length": String(init.body.length) } : init.headers,
      agent: init.agent,
    });
    request.setTimeout(init.timeoutMs, () =>
      request.destroy(Object.assign(new Error(`no answer within ${init.timeoutMs} ms`), { code: "ETIMEDOUT" })),
    );
    request.on("error", (error) => reject(Object.assign(error, { reusedSocket: request.reusedSocket })));
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      let length = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) });
      };
      response.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        length += chunk.length;
        if (init.maxBody !== undefined && length >= init.maxBody) {
          finish();
          // Read what we needed; the rest of the image is not wanted, so the socket goes.
          request.destroy();
        }
      });
      response.on("end", () => {
        finish();
        if (init.maxBody !== undefined) request.destroy();
      });
      response.on("error", (error) => {
        if (!done) reject(error);
      });
      // A connection that closes mid-body without an error event must not leave the caller waiting.
      response.on("close", () => {
        if (!done) reject(Object.assign(new Error("connection closed mid-body"), { code: "ECONNRESET" }));
      });
    });
    request.end(init.body);
  });
}

/** A short, stable label for a failed exchange: the system code (ECONNRESET) or the message. */
export function networkErrorKind(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
}

/**
 * True for the keep-alive race: the server closed an idle connection just as we sent
 * on it (it answers with a reset). Nothing was processed, so an idempotent request may
 * be sent again on a new connection (RFC 9110 §9.2.2); any other failure is real.
 */
export function isStaleKeepAlive(error: unknown): boolean {
  const { code, reusedSocket } = error as { code?: unknown; reusedSocket?: unknown };
  return reusedSocket === true && (code === "ECONNRESET" || code === "EPIPE");
}

/**
 * `send` for GET and PUT: after the keep-alive race, sent once more through `fresh`, an
 * agent that opens a new connection (the pool may hold more sockets closed the same way).
 */
export async function sendIdempotent(
  url: URL,
  init: HttpRequest,
  retry: { fresh: Agent; onRetry: () => void },
): Promise<HttpResult> {
  try {
    return await send(url, init);
  } catch (error) {
    if (!isStaleKeepAlive(error)) throw error;
    retry.onRetry();
    return send(url, { ...init, agent: retry.fresh });
  }
}
