/**
 * iot-upload: parse, load the key, hash the file, upload (retrying a busy server
 * when asked), report. `runUpload` takes every outside dependency as an argument
 * and returns the exit status; `main` wires it to this process.
 */
import { VERSION } from "../version.js";
import { type Command, type Env, parseCommand, type UploadOptions } from "./args.js";
import { EXIT, isCliError } from "./errors.js";
import { type FileSource, openFileSource } from "./file-source.js";
import { USAGE } from "./help.js";
import { createProgress } from "./progress.js";
import { reportFailure, reportUsage, shown } from "./report.js";
import { MAX_RETRY_AFTER_SECONDS } from "./retry-after.js";
import { loadSigningKey } from "./signing-key.js";
import { forTerminal } from "./terminal-text.js";
import { attemptUpload, type Uploaded } from "./upload.js";

export interface CliDeps {
  argv: string[];
  env: Env;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal: decides between a redrawn progress line and plain lines. */
  stderrIsTTY: boolean;
  columns?: number;
  fetch: typeof fetch;
  clock: () => Date;
  /** Monotonic milliseconds, for rates. */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Decides whether key file permissions are checked (POSIX only). */
  platform: NodeJS.Platform;
}

/** When a busy server sends no Retry-After, or one that is not a number of seconds or an HTTP-date. */
const DEFAULT_RETRY_SECONDS = 5;
/** setTimeout's largest delay; a longer one fires at once. The Retry-After cap keeps far below it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export async function runUpload(deps: CliDeps): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(deps.argv, deps.env);
  } catch (error) {
    return reportUsage("iot-upload", error, USAGE, deps.stderr);
  }
  if (command.kind === "help") {
    deps.stdout(USAGE);
    return EXIT.OK;
  }
  if (command.kind === "version") {
    deps.stdout(`iot-upload ${VERSION}\n`);
    return EXIT.OK;
  }
  try {
    const uploaded = await upload(command.options, deps);
    if (!command.options.quiet) {
      deps.stdout(`uploaded ${uploaded.filename} (${uploaded.size} bytes) at ${uploaded.uploaded_at}\n`);
    }
    return EXIT.OK;
  } catch (error) {
    return reportFailure("iot-upload", error, deps.stderr);
  }
}

async function upload(options: UploadOptions, deps: CliDeps): Promise<Uploaded> {
  const key = await loadSigningKey(options.keyPath, {
    platform: deps.platform,
    // Even with --quiet: it is about a secret, and it is printed once.
    warn: (message) => deps.stderr(`iot-upload: warning: ${shown(message)}\n`),
  });
  const source: FileSource = await openFileSource(options.file);
  try {
    for (let attempt = 0; ; attempt++) {
      const progress = createProgress({
        mode: options.quiet ? "quiet" : deps.stderrIsTTY ? "tty" : "lines",
        write: deps.stderr,
        now: deps.now,
        columns: deps.columns,
        label: forTerminal(options.name),
      });
      try {
        return await attemptUpload(
          {
            endpoint: options.endpoint,
            name: options.name,
            key,
            version: options.signatureVersion,
            source,
            timestamp: options.timestamp,
          },
          { fetch: deps.fetch, clock: deps.clock, progress },
        );
      } catch (error) {
        if (!isCliError(error) || !error.retry || attempt >= options.retries) throw error;
        const seconds = error.retry.afterSeconds ?? DEFAULT_RETRY_SECONDS;
        if (!options.quiet) {
          const capped = error.retry.capped
            ? ` (it asked for longer; iot-upload waits at most ${MAX_RETRY_AFTER_SECONDS} s)`
            : "";
          deps.stderr(
            `iot-upload: the server is busy; retrying in ${seconds} s${capped} (retry ${attempt + 1} of ${options.retries})\n`,
          );
        }
        await deps.sleep(Math.min(seconds * 1000, MAX_TIMER_MS));
      }
    }
  } finally {
    await source.close();
  }
}

/** The command in this process: real stdio, fetch and clocks. */
export async function main(argv = process.argv.slice(2)): Promise<number> {
  return runUpload({
    argv,
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stderrIsTTY: process.stderr.isTTY === true,
    columns: process.stderr.columns,
    fetch: globalThis.fetch,
    clock: () => new Date(),
    now: () => performance.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    platform: process.platform,
  });
}
