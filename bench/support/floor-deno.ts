// Reference on Deno: the least any server pays on Deno.serve to give a device this answer —
// no app, no framework. It answers every GET with the config's bytes and the route's headers
// (names and values' shape; the bench checks the names against the server's), 304 when
// If-None-Match is its ETag, and an X-Request-Id (the request's, else a new one), as SPEC
// requires. It sends them the cheapest way measured on Deno 2.9: a prebuilt Response per
// status, cloned, with the id set on the clone. Reading request headers at all, and any
// response header beyond Content-Type, takes Deno off its static fast path, which the
// hello-world takes; that is the gap this line shows. PORT and BODY_FILE from the environment.
import { createHash } from "node:crypto";
import { helloBody } from "./hello-body.mjs";

/** The little of the Deno namespace used here, so type-checking needs no Deno types. */
declare const Deno: {
  env: { get(name: string): string | undefined };
  serve(
    options: { port: number; hostname: string; onListen?(): void },
    handler: (request: Request) => Response,
  ): { shutdown(): Promise<void> };
  addSignalListener(signal: "SIGTERM", handler: () => void): void;
  exit(code: number): never;
};

const bytes = helloBody();
const etag = `"${createHash("sha256").update(bytes).digest("hex")}"`;
const headers = {
  ETag: etag,
  "Last-Modified": new Date().toUTCString(),
  "Cache-Control": "no-cache",
  "Content-Type": "application/json",
  "X-Content-Type-Options": "nosniff",
  "Content-Security-Policy": "sandbox; default-src 'none'",
};
const ok = new Response(bytes, { status: 200, headers: { ...headers, "Content-Length": String(bytes.length) } });
const notModified = new Response(null, { status: 304, headers });

const server = Deno.serve(
  { port: Number(Deno.env.get("PORT")), hostname: "127.0.0.1", onListen: () => {} },
  (request) => {
    const given = request.headers;
    const response = (given.get("if-none-match") === etag ? notModified : ok).clone();
    response.headers.set("X-Request-Id", given.get("x-request-id") ?? crypto.randomUUID());
    return response;
  },
);
Deno.addSignalListener("SIGTERM", () => void server.shutdown().then(() => Deno.exit(0)));
