/**
 * Node.js entry point: `npm start`. Serves on PORT/HOST, shuts down gracefully on
 * SIGTERM/SIGINT (stop accepting, flush notifications up to MQTT_FLUSH_TIMEOUT_MS,
 * close the sink), and prints one clear line and exits 1 on invalid settings.
 */
import { serve } from "@hono/node-server";
import { collectDefaultMetrics } from "prom-client";
import { bootOrExit, exitOnServerError, logListening, shutdownOnSignals } from "./lifecycle.js";
import { answerClientError } from "./node-client-error.js";

async function main(): Promise<void> {
  const booted = await bootOrExit({
    env: process.env,
    runtime: "node",
    instrument: (register) => collectDefaultMetrics({ register }),
  });
  const { app, settings } = booted;

  const server = serve({ fetch: app.fetch, port: settings.port, hostname: settings.host }, (info) =>
    logListening(booted, info.address, info.port),
  );
  server.on("error", (error) => exitOnServerError(booted, error));
  server.on("clientError", answerClientError);

  // `close` reports ERR_SERVER_NOT_RUNNING when listening never succeeded; either way it has stopped accepting.
  shutdownOnSignals(booted, () => new Promise<void>((resolve) => server.close(() => resolve())));
}

void main();
