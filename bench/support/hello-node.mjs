// Baseline: a Hono hello-world on @hono/node-server, answering GET /x with a constant JSON
// body — Node's realistic ceiling for a Hono app. PORT from the environment, like the server.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { helloBody } from "./hello-body.mjs";

const bytes = helloBody();
const app = new Hono();
app.get("/x", (c) => c.body(bytes, 200, { "Content-Type": "application/json" }));

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: "127.0.0.1" });
process.on("SIGTERM", () => server.close(() => process.exit(0)));
