/**
 * Node.js entry point: `npm start`. Serves on PORT/HOST, shuts down gracefully on
 * SIGTERM/SIGINT (stop accepting, flush notifications up to MQTT_FLUSH_TIMEOUT_MS,
 * close the sink), and prints one clear line and exits 1 on invalid settings.
 */
import type { AddressInfo } from "node:net";
import { collectDefaultMetrics } from "prom-client";
import { bootOrExit, exitOnServerError, logListening, shutdownOnSignals } from "./lifecycle.js";
import { createNodeServer } from "./node-http.js";
import { sendOpenFile } from "./node-send-file.js";

async function main(): Promise<void> {
  const booted = await bootOrExit({
    env: process.env,
    runtime: "node",
    instrument: (register) => collectDefaultMetrics({ register }),
    sendNative: sendOpenFile,
  });
  const { app, settings } = booted;

  const server = createNodeServer(app, settings, { logger: booted.logger, fastReads: booted.fastReads });
  server.on("error", (error) => exitOnServerError(booted, error));
  server.listen(settings.port, settings.host, () => {
    // Listening on TCP, so the address is an AddressInfo (a string only for pipes).
    const { address, port } = server.address() as AddressInfo;
    logListening(booted, address, port);
  });

  // `close` reports ERR_SERVER_NOT_RUNNING when listening never succeeded; either way it has stopped accepting.
  shutdownOnSignals(booted, () => new Promise<void>((resolve) => server.close(() => resolve())));
}

void main();
