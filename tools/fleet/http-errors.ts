/**
 * Every HTTP failure of the run, counted by kind ("config fetch: status 503",
 * "firmware read: ECONNRESET"), with the first few kept whole for the report.
 * Kinds are bounded (operation × status or error code), never per device.
 */

export interface HttpErrorSample {
  operation: string;
  kind: string;
  detail: string;
}

export interface HttpErrors {
  record(operation: string, kind: string, detail: string): void;
  /** A request sent again after the keep-alive race (not an error: nothing was lost). */
  retried(): void;
  retries(): number;
  count(): number;
  byKind(): Record<string, number>;
  samples(): HttpErrorSample[];
}

const KEPT_SAMPLES = 10;

export function createHttpErrors(): HttpErrors {
  const counts = new Map<string, number>();
  const kept: HttpErrorSample[] = [];
  let total = 0;
  let retries = 0;
  return {
    retried() {
      retries++;
    },
    retries: () => retries,
    record(operation, kind, detail) {
      total++;
      const key = `${operation}: ${kind}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (kept.length < KEPT_SAMPLES) kept.push({ operation, kind, detail: detail.slice(0, 300) });
    },
    count: () => total,
    byKind: () => Object.fromEntries(counts),
    samples: () => [...kept],
  };
}
