/**
 * The older load helper's interface (50 connections by default, `non2xx`), kept for the
 * benches not yet moved to httpLoad (bench/worker-hub.ts): it runs through httpLoad, so
 * every HTTP load uses the same tool and settings.
 */
import { httpLoad } from "./http-load.js";

export { BENCH_SECONDS } from "./settings.js";

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export async function load(options: {
  url: string;
  connections?: number;
  seconds?: number;
  method?: "GET" | "PUT" | "POST";
  body?: string;
  headers?: Record<string, string>;
}): Promise<LoadResult> {
  const r = await httpLoad({ ...options, connections: options.connections ?? 50 });
  return { rps: r.rps, p50: r.p50, p99: r.p99, errors: r.errors, non2xx: r.failed };
}
