/**
 * The Node HTTP server around the app, built here rather than by @hono/node-server's
 * `serve` so that everything answered before the app runs (refused targets, a
 * missing Host, Expect: 100-continue, parser errors) gets the API's error shape, and
 * so that its timeouts suit slow uploads from devices on weak links.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, maxHeaderSize, type RequestListener, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { getRequestListener, RequestError } from "@hono/node-server";
import { correlationIdOf } from "../core/correlation-id.js";
import { AppError, toErrorBody, validationFailed } from "../core/errors.js";
import { errorFields, type Logger } from "../core/logger.js";
import type { FastReads } from "../features/device-reads/fast-reads.js";
import type { ClientSource } from "../features/request-limits/client-address.js";
import { createClientErrorHandler } from "./node-client-error.js";
import { ERROR_HEADERS, endWithRawError, sendError } from "./node-error-response.js";
import { answerExpectContinue, type BodyLimits, refuseExpectation } from "./node-expect-continue.js";
import { ALLOWED_METHODS, checkRequestTarget, SERVER_WIDE_OPTIONS } from "./node-request-target.js";

/**
 * How long a client may take to send its request line and headers (Node's default).
 * Node checks every 30 s (connectionsCheckingInterval), so a silent client is cut
 * between 60 and 90 s after it connected.
 */
export const HEADERS_TIMEOUT_MS = 60_000;

export interface NodeServerSettings extends BodyLimits {
  /** Stands in for the Host of HTTP/1.0 requests, which need not send one. */
  host: string;
}

export interface NodeServerOptions {
  logger?: Logger;
  /** Cached config reads answered before the app (see core/fast-reads.ts). */
  fastReads?: FastReads;
  /** Shorter deadlines for tests, which cannot wait a minute for a headers timeout. */
  timeouts?: { headersMs?: number; checkIntervalMs?: number };
}

type FetchCallback = Parameters<typeof getRequestListener>[0];

/** A configured, not yet listening server; the caller listens, logs and closes. */
export function createNodeServer(
  app: { fetch: FetchCallback },
  settings: NodeServerSettings,
  options: NodeServerOptions = {},
): Server {
  const toApp = getRequestListener(app.fetch, {
    hostname: settings.host,
    errorHandler: (error) => adapterErrorResponse(error, options.logger),
  });
  const headersTimeoutMs = options.timeouts?.headersMs ?? HEADERS_TIMEOUT_MS;
  const server = createServer(
    {
      // Checked in checkRequestTarget, which answers in the API's error shape (Node's answer has no body).
      requireHostHeader: false,
      // No total deadline: a healthy 100 MiB upload over a slow link may take longer than any fixed
      // figure. The app cuts an upload that stalls (UPLOAD_IDLE_TIMEOUT_MS) instead.
      requestTimeout: 0,
      headersTimeout: headersTimeoutMs,
      ...(options.timeouts?.checkIntervalMs ? { connectionsCheckingInterval: options.timeouts.checkIntervalMs } : {}),
    },
    frontDoor(withFastReads(options.fastReads, toApp)),
  );
  server.on("checkContinue", frontDoor(answerExpectContinue(settings, toApp)));
  server.on("checkExpectation", refuseExpectation);
  server.on("connect", refuseConnect);
  server.on(
    "clientError",
    createClientErrorHandler({
      maxHeaderBytes: maxHeaderSize,
      headersTimeoutMs,
      logger: options.logger,
    }),
  );
  return server;
}

/**
 * Answers what the fast path can (straight onto the socket), and passes the rest to the app.
 * Each version's headers become one flat list, X-Request-Id first, handed to writeHead
 * whole: a setHeader before writeHead would make Node copy and validate every header into
 * its header map for each request.
 */
function withFastReads(fast: FastReads | undefined, next: RequestListener): RequestListener {
  if (!fast) return next;
  // Keyed by the answer's headers, shared by every answer of one version and status.
  const lists = new WeakMap<object, string[]>();
  // One source for every request, pointed at the current one: fast() asks it only while it runs
  // (synchronously), and two closures made per request were a measurable share of a cached read.
  let current: IncomingMessage | undefined;
  const client: ClientSource = {
    header: (name) => {
      const value = current?.headers[name];
      return Array.isArray(value) ? value.join(",") : value;
    },
    peer: () => current?.socket.remoteAddress,
  };
  return function fastReads(req, res) {
    const { headers } = req;
    current = req;
    const answer = fast(
      req.method ?? "",
      req.url ?? "",
      headers["if-none-match"],
      headers["x-request-id"] as string | undefined,
      client,
    );
    current = undefined;
    if (!answer) return next(req, res);
    let list = lists.get(answer.headers);
    if (!list) {
      list = ["X-Request-Id", "", ...Object.entries(answer.headers).flat()];
      lists.set(answer.headers, list);
    }
    // Shared, and safe to fill in: writeHead turns the list into the header block at once and keeps no reference.
    list[1] = answer.requestId;
    res.writeHead(answer.status, list);
    res.end(answer.body);
  };
}

/** Runs the request-target checks, answers what they refuse or `OPTIONS *`, and passes the rest on. */
function frontDoor(next: RequestListener): RequestListener {
  return function checkTarget(req, res) {
    const verdict = checkRequestTarget(req);
    if (verdict === undefined) {
      next(req, res);
    } else if (verdict === SERVER_WIDE_OPTIONS) {
      res.writeHead(204, {
        Allow: ALLOWED_METHODS,
        "X-Content-Type-Options": "nosniff",
        "X-Request-Id": correlationIdOf(req.headers["x-request-id"]),
      });
      res.end();
    } else {
      // Closing: a body this client may send anyway must not be parsed as its next request.
      sendError(req, res, verdict, { Connection: "close" });
    }
  };
}

/**
 * CONNECT (an authority-form target): this is not a proxy. Without a `connect`
 * listener Node drops the connection without a word; Node hands over the bare
 * socket, with its own error listener removed, so one is added here.
 */
function refuseConnect(req: IncomingMessage, socket: Duplex): void {
  // A reset from the client after the answer needs no handling: the socket is closing anyway.
  socket.on("error", () => socket.destroy());
  // Node stopped reading when it handed the socket over; read and drop while the answer goes out.
  socket.resume();
  const error = validationFailed("CONNECT is not supported: this server is not a proxy", { field: "method" });
  endWithRawError(socket, error, correlationIdOf(req.headers["x-request-id"]));
}

/**
 * What @hono/node-server answers when it cannot build a Request (a Host it cannot
 * parse, a backslash in the path) or the app throws outside Hono's own handling.
 * The adapter hands over only the error, so the client's X-Request-Id is not known.
 */
function adapterErrorResponse(error: unknown, logger: Logger | undefined): Response {
  const correlationId = randomUUID();
  let appError: AppError;
  if (error instanceof RequestError) {
    appError = validationFailed(`Invalid request: ${error.message}`);
  } else {
    appError = new AppError("INTERNAL_ERROR", "Internal server error", { cause: error });
    logger?.error("request failed before the app", { correlationId, ...errorFields(error) });
  }
  return new Response(JSON.stringify(toErrorBody(appError, correlationId)), {
    status: appError.status,
    headers: { ...ERROR_HEADERS, "X-Request-Id": correlationId },
  });
}
