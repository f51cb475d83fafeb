/**
 * Bearer credentials as they arrive (RFC 6750): only in the Authorization header, never
 * in the URL (a token in a query string ends up in proxy and access logs). Parsing is
 * strict and bounded, so a hostile header costs nothing and can never throw.
 */

/** Longest bearer credential read: an OIDC access token with many claims fits easily. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/** RFC 6750 b64token: the characters a bearer credential may contain. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export type BearerResult = { kind: "missing" } | { kind: "malformed" } | { kind: "token"; token: string };

export function bearerOf(header: string | undefined): BearerResult {
  if (header === undefined || header.trim() === "") return { kind: "missing" };
  if (header.length > MAX_TOKEN_LENGTH + 7) return { kind: "malformed" };
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  if (!match || !B64TOKEN.test(match[1] as string)) return { kind: "malformed" };
  return { kind: "token", token: match[1] as string };
}

/** Query parameters that carry tokens by convention (RFC 6750 §2.3, and common variants). */
const URL_TOKEN_PARAMS = ["access_token", "token", "id_token", "api_key"];

/** Whether the URL carries what looks like a credential: refused, whatever else the request has. */
export function tokenInUrl(url: string): boolean {
  // Most requests have no query: no URL parsing for them.
  if (!url.includes("?")) return false;
  const { searchParams } = new URL(url);
  return URL_TOKEN_PARAMS.some((name) => searchParams.has(name));
}
