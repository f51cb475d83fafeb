/**
 * Conditional and range requests for the device-facing reads: strong ETags from the
 * stored SHA-256, If-None-Match → 304, and a single `Range` (206/416) so an
 * interrupted firmware download can resume. Pure functions over header values.
 */
import type { ByteRange } from "../../core/storage.js";

export const etagOf = (sha256: string) => `"${sha256}"`;

/** If-None-Match uses weak comparison (RFC 9110 13.1.2): W/ prefixes are ignored. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

export type RangeDecision = { kind: "full" } | { kind: "partial"; range: ByteRange } | { kind: "unsatisfiable" };

/**
 * Decides what to send for a `Range` header. Only one range is honoured; a header
 * with several, or with bad syntax, is ignored (RFC 9110 allows serving the whole
 * representation). An If-Range that no longer matches also means "send it all", so a
 * resumed download never splices two versions of a file.
 */
export function decideRange(
  header: string | undefined,
  ifRange: string | undefined,
  size: number,
  etag: string,
): RangeDecision {
  if (!header) return { kind: "full" };
  if (ifRange !== undefined && ifRange.trim() !== etag) return { kind: "full" };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return { kind: "full" };
  const [, first, last] = match as unknown as [string, string, string];
  if (first === "" && last === "") return { kind: "full" };
  if (first === "") {
    // Suffix range: the last N bytes.
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    const length = Math.min(suffix, size);
    return { kind: "partial", range: { offset: size - length, length } };
  }
  const start = Number(first);
  if (start >= size) return { kind: "unsatisfiable" };
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return { kind: "full" };
  return { kind: "partial", range: { offset: start, length: end - start + 1 } };
}

const TYPES: Record<string, string> = {
  bin: "application/octet-stream",
  json: "application/json",
  txt: "text/plain; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  html: "text/html; charset=utf-8",
  htm: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  xml: "application/xml",
  yaml: "application/yaml",
  yml: "application/yaml",
  pem: "application/x-pem-file",
  crt: "application/x-x509-ca-cert",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  svg: "image/svg+xml",
  ico: "image/x-icon",
  webp: "image/webp",
  gz: "application/gzip",
  zip: "application/zip",
  tar: "application/x-tar",
  wasm: "application/wasm",
};

export function contentTypeFor(name: string): string {
  const dot = name.lastIndexOf(".");
  return (dot > 0 && TYPES[name.slice(dot + 1).toLowerCase()]) || "application/octet-stream";
}
