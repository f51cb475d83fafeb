/**
 * One HTTP load run with wrk when it is installed (one thread: on 2 cores it leaves the
 * other core to the server, and it measures more precisely than autocannon there), else
 * with autocannon. Every line a benchmark prints names the tool, from LOAD_TOOL.
 */
import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";
import autocannon from "autocannon";
import { BENCH_SECONDS } from "./load.js";

export interface HttpLoadResult {
  rps: number;
  /** Response bytes (headers included) per second. */
  bytesPerSecond: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  /** Socket errors and timeouts. */
  errors: number;
  /** 4xx and 5xx answers (a 304 is a success here). */
  failed: number;
}

function hasWrk(): boolean {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
    return true;
  } catch (error) {
    // wrk prints its version and exits 1; only a missing binary is ENOENT.
    return (error as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

export const LOAD_TOOL: "wrk" | "autocannon" =
  process.env.BENCH_TOOL === "autocannon" || !hasWrk() ? "autocannon" : "wrk";

const SUMMARY_SCRIPT = join(import.meta.dirname, "wrk-summary.lua");

export interface HttpLoadOptions {
  url: string;
  connections: number;
  seconds?: number;
  headers?: Record<string, string>;
}

export async function httpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  return LOAD_TOOL === "wrk" ? wrk(options) : cannon(options);
}

async function wrk({ url, connections, seconds = BENCH_SECONDS, headers = {} }: HttpLoadOptions) {
  const args = ["-t1", `-c${connections}`, `-d${seconds}s`, "-s", SUMMARY_SCRIPT];
  for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}: ${value}`);
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile("wrk", [...args, url], { encoding: "utf8" }, (error, out, err) =>
      error ? reject(new Error(`wrk failed: ${err || error.message}`)) : resolve(out),
    ),
  );
  const line = stdout.split("\n").find((l) => l.startsWith("WRK_SUMMARY "));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const s = JSON.parse(line.slice("WRK_SUMMARY ".length)) as Record<string, number>;
  const duration = (s.durationUs as number) / 1e6;
  return {
    rps: (s.requests as number) / duration,
    bytesPerSecond: (s.bytes as number) / duration,
    p50: (s.p50Us as number) / 1000,
    p99: (s.p99Us as number) / 1000,
    errors: (s.connect as number) + (s.read as number) + (s.write as number) + (s.timeout as number),
    failed: s.status as number,
  };
}

async function cannon({ url, connections, seconds = BENCH_SECONDS, headers }: HttpLoadOptions) {
  const r = await autocannon({ url, connections, duration: seconds, headers });
  return {
    rps: r.requests.average,
    bytesPerSecond: r.throughput.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    failed: r["4xx"] + r["5xx"],
  };
}

/** Throws unless the run was clean: a benchmark of errors measures nothing. */
export function assertClean(name: string, r: HttpLoadResult): HttpLoadResult {
  if (r.errors || r.failed) throw new Error(`${name}: ${r.errors} socket errors, ${r.failed} 4xx/5xx answers`);
  return r;
}
