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
      request.destroy(
        Object.assign(new Error(`no answer within ${init.timeoutMs} ms (the client gave up)`), {
          code: CLIENT_TIMEOUT,
        }),
      ),
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

/** The code `send` gives its own deadline, so "we gave up" is never confused with the system's ETIMEDOUT. */
export const CLIENT_TIMEOUT = "CLIENT_TIMEOUT";

/**
 * A short, stable label for an exchange that got no answer: the system code (ECONNRESET)
 * or our own deadline, and whether the connection had carried an earlier request (a
 * reset on a reused connection is the keep-alive race; on a new one it is not).
 */
export function networkErrorKind(error: unknown): string {
  const { code, reusedSocket } = error as { code?: unknown; reusedSocket?: unknown };
  const label =
    code === CLIENT_TIMEOUT
      ? "client timeout"
      : typeof code === "string"
        ? code
        : error instanceof Error
          ? error.message
          : String(error);
  return reusedSocket === true ? `${label} (reused connection)` : label;
}

/** An API error code as the contract spells them; anything else a server sends is not echoed into a label. */
const API_CODE = /^[A-Z][A-Z_]{0,39}$/;

/** A short, stable label for an answer with the wrong status: the status and the API's error `code`, when it has one. */
export function statusKind(result: HttpResult): string {
  let code: unknown;
  try {
    code = (JSON.parse(result.body.toString("utf8")) as { code?: unknown } | null)?.code;
  } catch {
    // Not JSON (a proxy's page, a cut body): the status alone says what is known.
    code = undefined;
  }
  return typeof code === "string" && API_CODE.test(code)
    ? `status ${result.status} ${code}`
    : `status ${result.status}`;
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
