/**
 * Deno entry point: `npm run start:deno`. The same settings, filesystem storage,
 * sinks and shutdown as Node (boot.ts, lifecycle.ts); only serving is Deno's own.
 *
 * No default process metrics here: prom-client's collectDefaultMetrics runs on Deno,
 * but its event-loop lag never moves (a 200 ms block read as 6 µs) and it reports
 * Deno's emulated Node version, so a dashboard would be told wrong things.
 */
import { webFastReads } from "../features/device-reads/fast-reads.js";
import { bootOrExit, exitOnServerError, logListening, shutdownOnSignals } from "./lifecycle.js";

/** The little of the Deno namespace used here, so type-checking needs no Deno types. */
declare const Deno: {
  env: { toObject(): Record<string, string> };
  serve(
    options: {
      port: number;
      hostname: string;
      onListen(address: { hostname: string; port: number }): void;
    },
    handler: (request: Request, info: { remoteAddr: { hostname: string } }) => Response | Promise<Response>,
  ): { shutdown(): Promise<void> };
};

async function main(): Promise<void> {
  const booted = await bootOrExit({ env: Deno.env.toObject(), runtime: "deno" });
  const { app, settings } = booted;
  const fast = webFastReads(booted.fastReads);

  let server: ReturnType<typeof Deno.serve>;
  try {
    server = Deno.serve(
      {
        port: settings.port,
        hostname: settings.host,
        onListen: ({ hostname, port }) => logListening(booted, hostname, port),
      },
      // Not `app.fetch` itself: only the peer's address, of Deno's connection info, is the app's (core/client-address.ts).
      (request, info) =>
        fast?.(request, () => info.remoteAddr.hostname) ?? app.fetch(request, { peer: info.remoteAddr.hostname }),
    );
  } catch (error) {
    exitOnServerError(booted, error);
  }

  // shutdown() stops accepting and resolves once in-flight requests have been answered.
  shutdownOnSignals(booted, () => server.shutdown());
}

void main();
