/**
 * The fast path for the read a fleet makes most: GET /files/configs/{mac}.json of a
 * config the storage holds in memory and knows to be current (StorageDriver.peek).
 * Runtimes try it before handing the request to the app; it answers 200 or 304 with
 * exactly the route's headers (file-headers.ts), counts the request in the same metric
 * series and logs the same debug line, without Hono's per-request work (context,
 * middleware chain, Response objects), which cost more than half a cached read.
 * Device tokens are checked here too, from memory, with the same answer as the app's: a
 * token that may read the config now gets it here; anything else (no token, another
 * device's, a table due for its refresh) goes to the app, which answers the 401 or 404.
 * Anything else — another route or method, a name to decode, a query string with a token
 * mode on, a config not held or due for revalidation, a client over its miss limit,
 * ALLOWED_HOSTS configured — is left to the app.
 */
import { correlationIdOf } from "../../core/correlation-id.js";
import type { AppDeps } from "../../core/deps.js";
import { macOfConfigFile } from "../../core/names.js";
import { secondsSince } from "../../core/observer.js";
import type { HeldObject } from "../../core/storage.js";
import { addressFrom, type ClientSource } from "../request-limits/client-address.js";
import { fileHeaders } from "./file-headers.js";
import { etagOf, matchesIfNoneMatch } from "./http-range.js";

const PREFIX = "/files/configs/";
/** The route pattern the app's metrics label these requests with. */
const ROUTE = "/files/configs/:file";

export interface FastAnswer {
  status: 200 | 304;
  /** Shared between answers of the same version: copy before changing. */
  headers: Readonly<Record<string, string>>;
  requestId: string;
  /** The stored bytes for 200; undefined for 304. */
  body: Uint8Array | undefined;
}

/** Tries one request; undefined means "not mine, ask the app". */
export type FastReads = (
  method: string,
  /** The request target: path and query, as on the request line. */
  target: string,
  ifNoneMatch: string | null | undefined,
  requestId: string | null | undefined,
  /**
   * The request's other headers and peer, asked only when needed (Authorization with a token
   * mode on; the address while some client is over its miss limit), and only while the call runs.
   */
  client: ClientSource,
) => FastAnswer | undefined;

export function createFastReads(
  deps: Pick<AppDeps, "storage" | "observer" | "logger" | "auth" | "devices" | "fleet"> & { clientIpHeader?: string },
): FastReads | undefined {
  const { storage, observer, logger } = deps;
  const { access, misses } = deps.devices;
  const { records } = deps.fleet;
  // Host checks stay in the app's middleware, in one place.
  if (!storage.peek || deps.auth.allowedHosts) return undefined;
  const tokensOn = access.mode !== "open";
  const clientOf = (source: ClientSource) =>
    addressFrom(deps.clientIpHeader ? source.header(deps.clientIpHeader) : undefined, source.peer());
  const peek = storage.peek.bind(storage);
  // One header set per stored version, made on its first read.
  const headersOf = new WeakMap<
    HeldObject,
    { etag: string; ok: Record<string, string>; notModified: Record<string, string> }
  >();
  const debug = logger.enabled?.("debug") !== false;

  return (method, target, ifNoneMatch, given, client) => {
    if (method !== "GET" || !target.startsWith(PREFIX)) return undefined;
    const start = performance.now();
    const query = target.indexOf("?", PREFIX.length);
    // A query may carry a token, which the app refuses (tokens in URLs end up in logs).
    if (query !== -1 && tokensOn) return undefined;
    const file = target.slice(PREFIX.length, query === -1 ? undefined : query).toLowerCase();
    // Only a plain <mac>.json: a percent-encoded or otherwise unusual name goes to the app.
    const mac = macOfConfigFile(file);
    if (mac === undefined) return undefined;
    if (tokensOn && !access.mayReadNow(client.header("authorization") ?? undefined, mac)) return undefined;
    if (misses?.anyLimited() && misses.refusal(clientOf(client) ?? "unknown")) return undefined;
    const held = peek("configs", file);
    if (!held) return undefined;
    let known = headersOf.get(held);
    if (!known) {
      const headers = fileHeaders("configs", file, held.sha256, new Date(held.mtimeMs));
      const ok = { ...headers, "Content-Length": String(held.bytes.length) };
      known = { etag: etagOf(held.sha256), ok, notModified: headers };
      headersOf.set(held, known);
    }
    // A device sends back the ETag it was given: that exact match needs no parsing.
    const fresh = ifNoneMatch === known.etag || matchesIfNoneMatch(ifNoneMatch ?? undefined, known.etag);
    const status = fresh ? 304 : 200;
    // Memory only: what the device now holds reaches storage with this process's next batch.
    records.fetched(mac, known.etag);
    const requestId = correlationIdOf(given);
    const seconds = secondsSince(start);
    observer.httpRequest("GET", ROUTE, status, seconds);
    if (debug)
      logger.debug("request", {
        correlationId: requestId,
        method,
        route: ROUTE,
        status,
        ms: Math.round(seconds * 1000),
      });
    return fresh
      ? { status, headers: known.notModified, requestId, body: undefined }
      : { status, headers: known.ok, requestId, body: held.bytes };
  };
}

/** A request answered from the fast path as a Web Response (Deno, Bun), or undefined for the app. */
export type WebFastReads = (request: Request, peer: () => string | undefined) => Response | undefined;

/**
 * The fast path for the Web runtimes. Each version's answer (200, 304) is made once as a
 * Response and cloned per request, which then only adds its X-Request-Id: a Response built
 * from a header record converts and validates every header again, and on Deno also makes a
 * native response registered for finalization, which together cost about as much as the
 * rest of a cached read. The template is never sent itself, so its body is never consumed.
 */
export function webFastReads(fast: FastReads | undefined): WebFastReads | undefined {
  if (!fast) return undefined;
  // Keyed by the answer's headers, shared by every answer of one version and status: a new
  // version has new ones, and the old template goes with the old version.
  const templates = new WeakMap<object, Response>();
  // One source for every request, pointed at the current one while fast() runs (it is
  // synchronous): no closures made per request, and no header read that is not needed.
  let headers: Headers | undefined;
  let peerOf: (() => string | undefined) | undefined;
  const client: ClientSource = { header: (name) => headers?.get(name), peer: () => peerOf?.() };
  return (request, peer) => {
    // The target from the URL without parsing it whole: everything from the first "/" after "//".
    const url = request.url;
    const slash = url.indexOf("/", url.indexOf("//") + 2);
    if (slash === -1) return undefined;
    headers = request.headers;
    peerOf = peer;
    const answer = fast(
      request.method,
      url.slice(slash),
      headers.get("if-none-match"),
      headers.get("x-request-id"),
      client,
    );
    headers = undefined;
    peerOf = undefined;
    if (!answer) return undefined;
    let template = templates.get(answer.headers);
    if (!template) {
      const body = answer.body as Uint8Array<ArrayBuffer> | undefined;
      template = new Response(body, { status: answer.status, headers: answer.headers });
      templates.set(answer.headers, template);
    }
    const response = template.clone();
    response.headers.set("X-Request-Id", answer.requestId);
    return response;
  };
}

/** One request through webFastReads (tests; the runtimes keep one webFastReads for their server's life). */
export function fastResponse(
  fast: FastReads | undefined,
  request: Request,
  peer: () => string | undefined,
): Response | undefined {
  return webFastReads(fast)?.(request, peer);
}
