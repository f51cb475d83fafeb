/**
 * What every filesystem runtime (Node, Deno, Bun) does around its own `serve`:
 * boot or print one line and exit 1; log where it listens; on SIGTERM/SIGINT stop
 * accepting, let in-flight requests finish (bounded by SHUTDOWN_TIMEOUT_MS), write the
 * device fetch records still in memory, flush pending notifications, exit 0. Signals and exit go through `node:process`, which
 * all three runtimes implement, so only serving differs between the entry points.
 */
import process from "node:process";
import { errorFields } from "../core/logger.js";
import { BootError, type Booted, type BootOptions, boot, drainNotifications } from "./boot.js";

/** Boots, or prints the BootError's one line on stderr and exits 1. */
export async function bootOrExit(options: BootOptions): Promise<Booted> {
  try {
    return await boot(options);
  } catch (error) {
    if (error instanceof BootError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

/** Logs the `listening` line every runtime prints once its socket is bound (the real port when PORT=0). */
export function logListening(booted: Booted, hostname: string, port: number): void {
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  booted.logger.info("listening", { url: `http://${host}:${port}` });
}

/** A socket that cannot be bound (port in use, no permission) ends the process: logged once, exit 1. */
export function exitOnServerError(booted: Booted, error: unknown): never {
  booted.logger.error("server error", errorFields(error));
  process.exit(1);
}

/**
 * Installs the SIGTERM/SIGINT handlers. `stopAccepting` closes the listener and
 * resolves once in-flight requests are done, so their notifications are pending
 * in the notifier by the time it is drained.
 */
export function shutdownOnSignals(booted: Booted, stopAccepting: () => Promise<void>): void {
  const { logger, settings } = booted;
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    try {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, settings.shutdownTimeoutMs);
      });
      // A listener that fails to close is logged, and the notifications are flushed all the same.
      const stopped = stopAccepting().catch((error) => logger.warn("could not stop the listener", errorFields(error)));
      await Promise.race([stopped, deadline]);
      clearTimeout(timer);
      await drainNotifications(booted);
    } catch (error) {
      logger.error("shutdown failed", errorFields(error));
      process.exit(1);
    }
    process.exit(0);
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => void shutdown(signal));
}
