/**
 * The rollouts' driver on the filesystem runtimes (Node, Deno, Bun): one timer that calls
 * tick() every TICK_MS, so a report that tips a rollout is acted on within SPEC's 2 s even
 * when no request comes. Unref'd, so it never holds a process up; a tick still running when
 * the next is due is not doubled. Stopped at graceful shutdown before the rollouts close.
 * Workers have no such timer (an isolate lives by its requests): see worker.ts.
 */
import { errorFields, type Logger } from "../core/logger.js";
import { type Rollouts, TICK_MS } from "../features/rollouts/contract.js";

export function driveRollouts(rollouts: Pick<Rollouts, "tick">, logger: Logger, everyMs = TICK_MS): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    rollouts
      .tick()
      .catch((error: unknown) => logger.warn("a rollout tick failed; the next one tries again", errorFields(error)))
      .finally(() => {
        running = false;
      });
  }, everyMs);
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}
