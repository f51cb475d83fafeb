/**
 * The headers of a device read (GET /files/...), in one place: the route and the
 * runtimes' fast path for cached configs (fast-reads.ts) must send exactly the same.
 */

import type { Area } from "../../core/storage.js";
import { contentTypeFor, etagOf } from "./http-range.js";

export function fileHeaders(area: Area, name: string, sha256: string, lastModified: Date): Record<string, string> {
  const headers: Record<string, string> = {
    ETag: etagOf(sha256),
    "Last-Modified": lastModified.toUTCString(),
    // Devices must revalidate each time, cheaply, with If-None-Match.
    "Cache-Control": "no-cache",
    "Content-Type": area === "configs" ? "application/json" : contentTypeFor(name),
    // An uploaded .html or .svg opened in a browser must not run script on the API's
    // origin (it could call PUT/DELETE with the admin's session): no sniffing into an
    // active type, and a sandbox with no permissions if it is rendered at all.
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
  };
  // Resumable downloads are for assets; a config is small and read whole.
  if (area === "assets") headers["Accept-Ranges"] = "bytes";
  return headers;
}
