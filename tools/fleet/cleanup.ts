/**
 * What the run started, stopped in reverse order whatever happens: each step runs even
 * when an earlier one failed, and every failure is reported (not swallowed), since a
 * broker left running holds ports and a temp folder holds disk.
 */

export interface Cleanup {
  /** Registers a step; steps run last-registered first. */
  add(what: string, step: () => Promise<void> | void): void;
  /** Runs every step once; returns the failures as "what: message". */
  run(): Promise<string[]>;
}

export function createCleanup(): Cleanup {
  const steps: Array<{ what: string; step: () => Promise<void> | void }> = [];
  return {
    add(what, step) {
      steps.push({ what, step });
    },
    async run() {
      const failures: string[] = [];
      for (let next = steps.pop(); next; next = steps.pop()) {
        try {
          await next.step();
        } catch (error) {
          failures.push(`${next.what}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      return failures;
    },
  };
}
