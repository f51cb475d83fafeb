// Baseline on Bun: a Hono hello-world on Bun.serve, answering GET /x with a constant JSON
// body, served the way src/runtimes/bun.ts serves the app. PORT from the environment.
import { Hono } from "hono";
import { helloBody } from "./hello-body.mjs";

/** The little of Bun.serve used here, so type-checking needs no Bun types. */
declare const Bun: {
  serve(options: { port: number; hostname: string; fetch: (request: Request) => Response | Promise<Response> }): {
    stop(closeActiveConnections?: boolean): Promise<void>;
  };
};

const bytes = helloBody();
const app = new Hono();
app.get("/x", (c) => c.body(bytes, 200, { "Content-Type": "application/json" }));

const server = Bun.serve({
  port: Number(process.env.PORT),
  hostname: "127.0.0.1",
  fetch: (request) => app.fetch(request),
});
process.on("SIGTERM", () => void server.stop().then(() => process.exit(0)));
