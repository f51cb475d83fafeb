/**
 * Who sent a request, as far as the server can tell: the address a per-client limit is
 * counted under. By default the connection's peer (each runtime passes it in its own
 * way); behind a reverse proxy every request comes from the proxy, so the operator names
 * the header the proxy writes the client's address into (CLIENT_IP_HEADER). Only that
 * header is believed, and only its last entry: in a list such as X-Forwarded-For, the
 * entries before it were written by the client itself and prove nothing.
 */
import type { Context } from "hono";

/** What the runtimes put in Hono's `c.env`: Node's adapter the request, Deno and Bun the peer's address. */
interface PeerEnv {
  peer?: string;
  incoming?: { socket?: { remoteAddress?: string } };
}

/** The connection's peer address on Node, Deno and Bun (undefined where the runtime does not say). */
export function peerAddress(c: Context): string | undefined {
  const env = c.env as PeerEnv | undefined;
  return env?.peer ?? env?.incoming?.socket?.remoteAddress;
}

/** Where a runtime's fast path finds the client: a request header, and the connection's peer. */
export interface ClientSource {
  header(name: string): string | null | undefined;
  peer(): string | undefined;
}

/** The client's address: the last entry of `headerValue` (from the configured header) when there is one, else `peer`. */
export function addressFrom(headerValue: string | null | undefined, peer: string | undefined): string | undefined {
  if (!headerValue) return peer;
  const last = headerValue.slice(headerValue.lastIndexOf(",") + 1).trim();
  // A proxy that did not set it: the peer is then the best we know (the proxy, counted as one client).
  return last ? last.slice(0, 64) : peer;
}

/** The client's address from `header` (lower-case name) when set, else from `peer`. */
export function clientAddress(
  c: Context,
  header: string | undefined,
  peer: (c: Context) => string | undefined = peerAddress,
): string | undefined {
  if (header === undefined) return peer(c);
  return addressFrom(c.req.header(header), peer(c));
}
