/**
 * Bun entry point: `npm run start:bun`. The same settings, filesystem storage,
 * sinks and shutdown as Node (boot.ts, lifecycle.ts); only serving is Bun's own.
 */
import process from "node:process";
import { collectDefaultMetrics } from "prom-client";
import { webFastReads } from "../features/device-reads/fast-reads.js";
import { bootOrExit, exitOnServerError, logListening, shutdownOnSignals } from "./lifecycle.js";

/** The little of Bun.serve used here, so type-checking needs no Bun types. */
declare const Bun: {
  serve(options: {
    port: number;
    hostname: string;
    fetch: (
      request: Request,
      server: { requestIP(request: Request): { address: string } | null },
    ) => Response | Promise<Response>;
    development: boolean;
    maxRequestBodySize: number;
    idleTimeout: number;
  }): { hostname: string; port: number; stop(closeActiveConnections?: boolean): Promise<void> };
};

/** Bun's largest idle timeout, in seconds; its default of 10 s would cut a stalled device download. */
const IDLE_TIMEOUT_SECONDS = 255;

async function main(): Promise<void> {
  const booted = await bootOrExit({
    env: process.env,
    runtime: "bun",
    // Checked on Bun: the process metrics and event-loop lag are measured (no GC histogram).
    instrument: (register) => collectDefaultMetrics({ register }),
  });
  const { app, settings } = booted;
  const fast = webFastReads(booted.fastReads);

  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      port: settings.port,
      hostname: settings.host,
      // Not `app.fetch` itself: only the peer's address, of what Bun's server knows, is the app's (core/client-address.ts).
      fetch: (request, server) =>
        fast?.(request, () => server.requestIP(request)?.address) ??
        app.fetch(request, { peer: server.requestIP(request)?.address }),
      // Bun's development mode answers a thrown error with a page showing the stack.
      development: false,
      // The app enforces MAX_UPLOAD_BYTES and MAX_CONFIG_BYTES itself with a 413 in the API's error
      // shape; Bun's own limit (128 MiB by default) must never be the one that answers first.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      idleTimeout: IDLE_TIMEOUT_SECONDS,
    });
  } catch (error) {
    exitOnServerError(booted, error);
  }
  logListening(booted, server.hostname, server.port);

  // stop() without `true` stops accepting and resolves once in-flight requests have been answered.
  shutdownOnSignals(booted, () => server.stop());
}

void main();
