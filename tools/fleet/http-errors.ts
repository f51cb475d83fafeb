/**
 * Every HTTP failure of the run, counted by kind: the phase (config save, config fetch,
 * config HEAD, firmware upload, firmware read) and what went wrong — a status with the
 * API's error code ("config save: status 503 SERVER_BUSY"), a socket error
 * ("config fetch: ECONNRESET (reused connection)") or our own deadline ("client timeout").
 * The first few are kept whole for the report. Kinds are bounded, never per device.
 */

export interface HttpErrorSample {
  operation: string;
  kind: string;
  detail: string;
}

/** Everything an HttpErrors knows, as plain data: what a shard sends back to the driver. */
export interface HttpErrorSummary {
  count: number;
  byKind: Record<string, number>;
  samples: HttpErrorSample[];
  retries: number;
}

export interface HttpErrors {
  record(operation: string, kind: string, detail: string): void;
  /** A request sent again after the keep-alive race (not an error: nothing was lost). */
  retried(): void;
  retries(): number;
  count(): number;
  byKind(): Record<string, number>;
  samples(): HttpErrorSample[];
  summary(): HttpErrorSummary;
  /** Adds another log's errors (a shard's) to this one. */
  absorb(other: HttpErrorSummary): void;
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
    summary: () => ({ count: total, byKind: Object.fromEntries(counts), samples: [...kept], retries }),
    absorb(other) {
      total += other.count;
      retries += other.retries;
      for (const [key, n] of Object.entries(other.byKind)) counts.set(key, (counts.get(key) ?? 0) + n);
      for (const sample of other.samples) if (kept.length < KEPT_SAMPLES) kept.push(sample);
    },
  };
}

/** "74 (config fetch: client timeout × 70, config save: status 503 SERVER_BUSY × 4)", or "0". */
export function describeHttpErrors(count: number, byKind: Record<string, number>): string {
  const entries = Object.entries(byKind).sort(([, a], [, b]) => b - a);
  return entries.length === 0 ? String(count) : `${count} (${entries.map(([kind, n]) => `${kind} × ${n}`).join(", ")})`;
}
