/**
 * Node.js entry point: `npm start`. Serves on PORT/HOST, shuts down gracefully on
 * SIGTERM/SIGINT (stop accepting, flush notifications up to MQTT_FLUSH_TIMEOUT_MS,
 * close the sink), and prints one clear line and exits 1 on invalid settings.
 */
import { serve } from "@hono/node-server";
import { collectDefaultMetrics } from "prom-client";
import { BootError, type Booted, boot, drainNotifications } from "./boot.js";

async function main(): Promise<void> {
  let booted: Booted;
  try {
    booted = await boot({
      env: process.env,
      runtime: "node",
      instrument: (register) => collectDefaultMetrics({ register }),
    });
  } catch (error) {
    if (error instanceof BootError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const { app, settings, logger } = booted;

  const server = serve({ fetch: app.fetch, port: settings.port, hostname: settings.host }, (info) => {
    logger.info("listening", {
      url: `http://${info.address.includes(":") ? `[${info.address}]` : info.address}:${info.port}`,
    });
  });
  server.on("error", (error) => {
    logger.error("server error", { err: error.message, errCode: (error as { code?: string }).code });
    process.exit(1);
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // In-flight requests finish; their notifications are then pending in the notifier.
    await Promise.race([closed, new Promise((r) => setTimeout(r, settings.mqttFlushTimeoutMs))]);
    await drainNotifications(booted);
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

void main();
