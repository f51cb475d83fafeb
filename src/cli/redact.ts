/**
 * Credentials never reach the terminal. An operator may put `user:pass@` in --server
 * or IOT_SERVER_URL; whatever echoes a URL (a usage error, a message from fetch that
 * quotes the request's URL) prints `***` in their place. A CI log is read by many.
 */

/** `scheme://` then the userinfo up to its last `@` before the host (a password may hold an unencoded `@`). */
const USERINFO = /\b([a-z][a-z\d+.-]*:\/\/)[^\s/?#]*@/gi;

/** Every `scheme://user:pass@` in a text, with the user name and password replaced by `***`. */
export const redactCredentials = (text: string): string => text.replace(USERINFO, "$1***@");

/** A URL as it may be printed. */
export function redactUrl(url: URL): string {
  if (url.username === "" && url.password === "") return url.href;
  const shown = new URL(url.href);
  shown.username = "***";
  shown.password = "";
  return shown.href;
}
