/**
 * ALLOWED_HOSTS: a request whose Host is not listed is refused with 421. CORS does not
 * stop DNS rebinding (the attacker's page is same-origin with its own name, which now
 * points at the server); the Host header still carries that name, so checking it does.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../deps.js";
import { AppError } from "../errors.js";

/** The host name of a Host header, without its port; IPv6 literals keep their brackets. */
export function hostName(header: string): string {
  const host = header.trim().toLowerCase();
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.lastIndexOf(":");
  return colon >= 0 ? host.slice(0, colon) : host;
}

export function allowedHosts(hosts: readonly string[]): MiddlewareHandler<AppEnv> {
  const allowed = new Set(hosts);
  return async function checkHost(c, next) {
    const header = c.req.header("host") ?? new URL(c.req.url).host;
    if (allowed.has(hostName(header))) return next();
    throw new AppError("MISDIRECTED_REQUEST", "This server does not answer for that host name (ALLOWED_HOSTS)", {
      details: { host: hostName(header).slice(0, 255) },
    });
  };
}
