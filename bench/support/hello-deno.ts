// Baseline on Deno: a Hono hello-world on Deno.serve, answering GET /x with a constant JSON
// body, served the way src/runtimes/deno.ts serves the app. PORT from the environment.
import { Hono } from "hono";
import { helloBody } from "./hello-body.mjs";

/** The little of the Deno namespace used here, so type-checking needs no Deno types. */
declare const Deno: {
  env: { get(name: string): string | undefined };
  serve(
    options: { port: number; hostname: string; onListen?(): void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void> };
  addSignalListener(signal: "SIGTERM", handler: () => void): void;
  exit(code: number): never;
};

const bytes = helloBody();
const app = new Hono();
app.get("/x", (c) => c.body(bytes, 200, { "Content-Type": "application/json" }));

const server = Deno.serve(
  { port: Number(Deno.env.get("PORT")), hostname: "127.0.0.1", onListen: () => {} },
  (request) => app.fetch(request),
);
Deno.addSignalListener("SIGTERM", () => void server.shutdown().then(() => Deno.exit(0)));
