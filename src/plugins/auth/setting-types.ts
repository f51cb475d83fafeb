/**
 * The kinds of values only the OIDC settings take: an issuer URL and a list of JWT `typ`
 * values, as zod schemas whose messages read well after "Invalid setting NAME: ".
 */
import { z } from "zod";
import { isLoopbackHost } from "../../core/setting-types.js";

/** An OIDC issuer: https, or http on a loopback address only (a local test issuer). */
export const issuerUrl = z.string().transform((raw, ctx) => {
  const text = raw.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: "custom", message: "is not a URL (expected e.g. https://login.example.com/realms/fleet)" });
    return z.NEVER;
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) {
    ctx.addIssue({ code: "custom", message: "must be an https:// URL (http:// only on a loopback address)" });
    return z.NEVER;
  }
  if (url.username || url.password || url.search || url.hash) {
    ctx.addIssue({ code: "custom", message: "must not carry credentials, a query or a fragment" });
    return z.NEVER;
  }
  // Exactly as given: it is compared with the tokens' `iss` and the discovery document's `issuer`.
  return text;
});

// RFC 6838 restricted-name: the characters a media type (and so a JWT `typ`) may use.
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*(\/[a-z0-9][a-z0-9!#$&^_.+-]*)?$/i;

/** JWT `typ` values (media types, e.g. at+jwt or JWT), as given; the verifier compares them as RFC 7515 says. */
export const tokenTypeList = z.string().transform((raw, ctx) => {
  const list = raw
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  if (list.length === 0 || !list.every((t) => MEDIA_TYPE.test(t))) {
    ctx.addIssue({ code: "custom", message: "must be a comma list of JWT typ values, e.g. at+jwt or at+jwt,JWT" });
    return z.NEVER;
  }
  return list;
});
