/**
 * Helpers for the property-based fuzz tests: a walk of the whole data root, the contract's
 * error shape checked on any 4xx, an independent filename oracle, and a multipart
 * builder that controls every header byte (the shared `multipart()` cannot send a
 * filename holding CR or LF, nor an RFC 5987 `filename*`).
 */
import type { Dirent } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";

export interface Entry {
  path: string;
  kind: "file" | "dir" | "other";
}

/** Every entry under `root`, recursively, symlinks not followed. */
export async function walk(root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const visit = async (dir: string) => {
    const entries: Dirent[] = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        out.push({ path, kind: "dir" });
        await visit(path);
      } else out.push({ path, kind: e.isFile() ? "file" : "other" });
    }
  };
  await visit(root);
  return out;
}

/** Empties the two data directories between runs, so each run starts from a known state. */
export async function emptyDirs(...dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
  }
}

/**
 * Asserts the layout of a data root: only the configs and assets directories and the
 * state directory's signature markers, no other subdirectory or special file anywhere,
 * no temporary file; returns the file names found in each for the caller's own checks.
 */
export async function layout(
  root: string,
  dirs: { configsDir: string; assetsDir: string; stateDir: string },
): Promise<{ configs: string[]; assets: string[]; markers: string[] }> {
  const markersDir = join(dirs.stateDir, "used-signatures");
  const found = { configs: [] as string[], assets: [] as string[], markers: [] as string[] };
  for (const entry of await walk(root)) {
    const name = entry.path.slice(entry.path.lastIndexOf("/") + 1);
    expect(name.startsWith(".iotsupport-"), `temporary file left behind: ${entry.path}`).toBe(false);
    if (entry.kind === "dir") {
      expect(
        [dirs.configsDir, dirs.assetsDir, dirs.stateDir, markersDir],
        `unexpected directory ${entry.path}`,
      ).toContain(entry.path);
      continue;
    }
    expect(entry.kind, `not a regular file: ${entry.path}`).toBe("file");
    if (entry.path === join(dirs.configsDir, name)) found.configs.push(name);
    else if (entry.path === join(dirs.assetsDir, name)) found.assets.push(name);
    else if (entry.path === join(markersDir, name) && /^[0-9a-f]{64}$/.test(name)) found.markers.push(name);
    else expect.fail(`file written outside the data directories: ${entry.path}`);
  }
  return { configs: found.configs.sort(), assets: found.assets.sort(), markers: found.markers.sort() };
}

export interface ErrorBody {
  error: string;
  details: Record<string, unknown>;
  code: string;
  status: number;
  correlationId: string;
}

/** Any 4xx must carry the API's error shape, the matching status and no stack trace or server path. */
export async function expectErrorShape(res: Response, root: string): Promise<ErrorBody> {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    expect.fail(`error body is not JSON (status ${res.status}): ${text.slice(0, 200)}`);
  }
  expect(body).toEqual({
    error: expect.any(String),
    details: expect.any(Object),
    code: expect.stringMatching(/^[A-Z][A-Z_]*$/),
    status: res.status,
    correlationId: expect.any(String),
  });
  const typed = body as ErrorBody;
  expect(Array.isArray(typed.details)).toBe(false);
  expect(typed.error.length).toBeGreaterThan(0);
  expect(typed.correlationId.length).toBeGreaterThan(0);
  expect(res.headers.get("x-request-id")).toBe(typed.correlationId);
  expect(text).not.toContain(root);
  expect(text).not.toMatch(/node_modules|at .*\(.*:\d+:\d+\)/);
  return typed;
}

const MAC = /^[0-9a-f]{2}(-[0-9a-f]{2}){5}$/;
export const isSpecMac = (raw: string) => MAC.test(raw.toLowerCase());

/**
 * Whether an upload name should be accepted, written from the rules rather than
 * from names.ts: the contract's (non-empty; no `..`, `/`, `\`, NUL or control characters)
 * plus the stricter ones the server documents (no leading dot, no `.tmp` suffix,
 * no surrounding whitespace, at most 255 UTF-8 bytes).
 */
export function acceptableFilename(name: string): boolean {
  if (name === "" || name.includes("..") || name.includes("/") || name.includes("\\")) return false;
  for (const ch of name) {
    const code = ch.codePointAt(0) as number;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return false;
    // The contract: format characters (Cf) and invalid UTF-8 (decoded as U+FFFD); README: look-alike
    // spaces, line/paragraph separators, private use and lone surrogates.
    if (code === 0xfffd || /[\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}]/u.test(ch) || (code !== 0x20 && /\p{Zs}/u.test(ch))) {
      return false;
    }
  }
  if (name.startsWith(".") || name.endsWith(".") || /\.tmp$/i.test(name) || name.trim() !== name) return false;
  // The contract: Windows device names, with or without an extension.
  if (/^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)/i.test(name)) return false;
  return new TextEncoder().encode(name.normalize("NFC")).length <= 255;
}

/** A quoted parameter value as browsers send it (WHATWG): `"`, CR and LF percent-encoded, the rest raw. */
export const quoteParam = (value: string) =>
  `"${value.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A")}"`;

/** RFC 5987 `utf-8''…` encoding: decodes back to exactly `value`. */
export const extendedParam = (value: string) =>
  `UTF-8''${encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;

export interface RawPart {
  name: string;
  filename?: string;
  /** `plain`: filename="…" (quoted as browsers do); `extended`: filename*=UTF-8''… */
  encoding?: "plain" | "extended";
  contentType?: string;
  value: Uint8Array;
}

const enc = new TextEncoder();

export function concatBytes(chunks: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** The exact bytes of a multipart/form-data body with `boundary`. */
export function rawMultipart(parts: RawPart[], boundary: string): Uint8Array<ArrayBuffer> {
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name=${quoteParam(part.name)}`;
    if (part.filename !== undefined) {
      head +=
        part.encoding === "extended"
          ? `; filename*=${extendedParam(part.filename)}`
          : `; filename=${quoteParam(part.filename)}`;
    }
    head += "\r\n";
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(enc.encode(`${head}\r\n`), part.value, enc.encode("\r\n"));
  }
  chunks.push(enc.encode(`--${boundary}--\r\n`));
  return concatBytes(chunks);
}

/** Whether `needle` occurs in `haystack`. */
export function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** A body as a stream of `chunkSize`-byte chunks, so part boundaries fall anywhere. */
export function streamOf(bytes: Uint8Array, chunkSize: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) controller.close();
      else {
        controller.enqueue(bytes.slice(offset, offset + chunkSize));
        offset += chunkSize;
      }
    },
  });
}
