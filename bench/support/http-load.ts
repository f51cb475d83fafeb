/**
 * Every HTTP load of the benchmarks: wrk with one thread (on 2 cores it leaves the other
 * core to the server, and it measures more precisely than autocannon there). Without wrk
 * a run stops and says how to get it (apt-get install wrk), unless BENCH_TOOL=autocannon
 * asks for autocannon explicitly; BENCHMARKS.md then names it, from LOAD_TOOL.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { BENCH_SECONDS } from "./settings.js";

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

export const LOAD_TOOL: "wrk" | "autocannon" = process.env.BENCH_TOOL === "autocannon" ? "autocannon" : "wrk";

/** The tool's own version line, or undefined when it is not installed. */
export function wrkVersion(): string | undefined {
  try {
    return clean(execFileSync("wrk", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
  } catch (error) {
    // wrk prints its version and exits 1; only a missing binary is ENOENT.
    const e = error as NodeJS.ErrnoException & { stdout?: string };
    return e.code === "ENOENT" ? undefined : clean(e.stdout ?? "") || "wrk (version unknown)";
  }
}

/** "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer" → "wrk debian/4.1.0-3+b2 [epoll]". */
const clean = (out: string) => (out.split("\n")[0] ?? "").replace(/\s*Copyright.*$/, "").trim();

export class LoadToolMissing extends Error {
  readonly code = "LOAD_TOOL_MISSING";
  constructor() {
    super(
      "wrk is not installed: the benchmarks generate HTTP load with wrk (apt-get install wrk). " +
        "BENCH_TOOL=autocannon runs them with autocannon instead, and BENCHMARKS.md then says so.",
    );
  }
}

/** Throws LoadToolMissing when the chosen tool cannot run; autocannon comes from npm and is always there. */
export function requireLoadTool(): void {
  if (LOAD_TOOL === "wrk" && wrkVersion() === undefined) throw new LoadToolMissing();
}

/** The settings every load run shares, in words, for BENCHMARKS.md. */
export function loadToolSettings(): string {
  return LOAD_TOOL === "wrk"
    ? `wrk (${wrkVersion() ?? "not installed"}), one thread (\`-t1\`), ${BENCH_SECONDS} s per run`
    : `autocannon (BENCH_TOOL=autocannon, asked for explicitly instead of wrk), ${BENCH_SECONDS} s per run`;
}

export interface HttpLoadOptions {
  url: string;
  connections: number;
  seconds?: number;
  method?: "GET" | "PUT" | "POST";
  /** Sent with every request (PUT/POST). */
  body?: string;
  headers?: Record<string, string>;
}

export async function httpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  return LOAD_TOOL === "wrk" ? wrk(options) : cannon(options);
}

const SUMMARY_SCRIPT = join(import.meta.dirname, "wrk-summary.lua");

async function wrk({ url, connections, seconds = BENCH_SECONDS, method, body, headers = {} }: HttpLoadOptions) {
  const args = ["-t1", `-c${connections}`, `-d${seconds}s`, "-s", SUMMARY_SCRIPT];
  for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}: ${value}`);
  // The body goes through a file: the script reads it, so no byte of it is quoted anywhere.
  const dir = body === undefined ? undefined : await mkdtemp(join(tmpdir(), "iot-bench-wrk-"));
  const env = { ...process.env, WRK_METHOD: method ?? "GET", WRK_BODY_FILE: dir ? join(dir, "body") : "" };
  try {
    if (dir) await writeFile(join(dir, "body"), body as string);
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile("wrk", [...args, url], { encoding: "utf8", env }, (error, out, err) => {
        if ((error as NodeJS.ErrnoException | null)?.code === "ENOENT") reject(new LoadToolMissing());
        else if (error) reject(new Error(`wrk failed: ${err || error.message}`));
        else resolve(out);
      }),
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
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

async function cannon({ url, connections, seconds = BENCH_SECONDS, method, body, headers }: HttpLoadOptions) {
  const r = await autocannon({ url, connections, duration: seconds, method, body, headers });
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
