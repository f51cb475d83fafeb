/**
 * What the webhook sink sends: the target URL without credentials plus the Authorization
 * header they become (Node's fetch refuses a URL carrying them, repeating it whole in its
 * error; workerd's silently drops them), the exact JSON body, and the headers every attempt
 * shares.
 */
import { redactUrl } from "../../core/settings.js";
import type { Notification } from "../../core/sinks/contract.js";
import { VERSION } from "../../version.js";

export interface WebhookTarget {
  /** Where to POST: the configured URL without user name and password. */
  url: string;
  /** Safe to log: credentials replaced, query and fragment left out. */
  display: string;
  /** `Basic …` from the URL's credentials, if it had any. */
  authorization?: string;
}

const decode = (text: string) => {
  try {
    return decodeURIComponent(text);
  } catch {
    // Not valid percent-encoding: the user meant the characters literally.
    return text;
  }
};

/** Base64 of the UTF-8 bytes (btoa alone only takes Latin-1). */
const base64 = (text: string) =>
  btoa(Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join(""));

export function webhookTarget(url: URL): WebhookTarget {
  const bare = new URL(url.href);
  bare.username = "";
  bare.password = "";
  const display = redactUrl(url) ?? bare.origin;
  if (!url.username && !url.password) return { url: bare.href, display };
  const credentials = `${decode(url.username)}:${decode(url.password)}`;
  return { url: bare.href, display, authorization: `Basic ${base64(credentials)}` };
}

/** Exactly `{"topic":…,"payload":{"filename":…},"metadata":{…}}`, metadata `{}` when there is none. */
export function webhookBody({ topic, payload, metadata = {} }: Notification): string {
  const { sha256, size, etag } = metadata;
  return JSON.stringify({ topic, payload: { filename: payload.filename }, metadata: { sha256, size, etag } });
}

export const USER_AGENT = `iot-support-server/${VERSION}`;

/** Headers every attempt shares; the signature and delivery id are added per attempt. */
export function baseHeaders(target: WebhookTarget): Record<string, string> {
  return {
    "Content-Type": "application/json",
    "User-Agent": USER_AGENT,
    ...(target.authorization ? { Authorization: target.authorization } : {}),
  };
}
