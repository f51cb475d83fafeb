/**
 * The checks RFC 9112 asks of a server before a request is dispatched, done here
 * because Node's parser does not do them all and @hono/node-server, given a default
 * hostname, silently fills in a missing Host instead of refusing the request:
 * HTTP/1.1 needs exactly one non-empty Host; the target is a path (origin-form),
 * an absolute http(s) URL (absolute-form), or `*` for a server-wide OPTIONS.
 */
import type { IncomingMessage } from "node:http";
import { type AppError, validationFailed } from "../core/errors.js";

/** `OPTIONS *`: a question about the server as a whole, answered without the app. */
export const SERVER_WIDE_OPTIONS = Symbol("OPTIONS *");

export type TargetVerdict = undefined | typeof SERVER_WIDE_OPTIONS | AppError;

/** The methods the server answers on some route. */
export const ALLOWED_METHODS = "GET, HEAD, PUT, POST, DELETE, OPTIONS";

const needsHost = (req: IncomingMessage) =>
  req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1);

function hostLines(req: IncomingMessage): number {
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    // The length first: most names are not four characters long, and need no lower-cased copy.
    if (name?.length === 4 && name.toLowerCase() === "host") count++;
  }
  return count;
}

// RFC 3986: an IP literal or a reg-name (no percent-escapes, which the adapter refuses), then an optional port.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=]+)(?::(\d{1,5}))?$/;

/** The last Host found valid: a server's clients nearly all send the same one, so most requests skip the pattern. */
let lastValidHost = "";

function isValidHost(host: string): boolean {
  if (host === lastValidHost) return true;
  const match = HOST.exec(host);
  const valid = match !== null && (match[1] === undefined || Number(match[1]) <= 65_535);
  if (valid) lastValidHost = host;
  return valid;
}

// @hono/node-server only takes an absolute target with a lower-case http(s) scheme.
const isAbsoluteForm = (target: string) =>
  (target.startsWith("http://") || target.startsWith("https://")) && URL.canParse(target);

/** undefined: dispatch to the app; otherwise what to answer instead. */
export function checkRequestTarget(req: IncomingMessage): TargetVerdict {
  if (needsHost(req)) {
    if (req.headers.host === undefined) return validationFailed("Host header is required", { header: "Host" });
    // Node keeps only the first of several Host lines, which would hide the ambiguity from the app.
    if (hostLines(req) > 1) return validationFailed("Host header must be sent only once", { header: "Host" });
    if (req.headers.host === "") return validationFailed("Host header must not be empty", { header: "Host" });
  }
  // Checked here too for HTTP/1.0, whose optional Host the adapter uses when present.
  if (req.headers.host && !isValidHost(req.headers.host)) {
    return validationFailed("Host header must be a host name or address, optionally with :port", { header: "Host" });
  }
  const target = req.url ?? "";
  if (target.startsWith("/") || isAbsoluteForm(target)) return undefined;
  if (target === "*") {
    if (req.method === "OPTIONS") return SERVER_WIDE_OPTIONS;
    return validationFailed("The request target * is only allowed with OPTIONS", { field: "request_target" });
  }
  return validationFailed("The request target must be a path starting with / or an absolute http(s) URL", {
    field: "request_target",
  });
}
