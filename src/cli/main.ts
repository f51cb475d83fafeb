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
import { loadSigningKey } from "./signing-key.js";
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
}

/** When a busy server sends no Retry-After. */
const DEFAULT_RETRY_SECONDS = 5;

export async function runUpload(deps: CliDeps): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(deps.argv, deps.env);
  } catch (error) {
    if (!isCliError(error)) throw error;
    deps.stderr(`iot-upload: ${error.message}\n\n${USAGE}`);
    return error.exitCode;
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
    if (!isCliError(error)) {
      // A bug, not a situation we foresaw: show everything that helps find it.
      deps.stderr(
        `iot-upload: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      return EXIT.USAGE;
    }
    deps.stderr(`iot-upload: ${error.message}\n${error.notes.map((n) => `  ${n}\n`).join("")}`);
    return error.exitCode;
  }
}

async function upload(options: UploadOptions, deps: CliDeps): Promise<Uploaded> {
  const key = await loadSigningKey(options.keyPath);
  const source: FileSource = await openFileSource(options.file);
  try {
    for (let attempt = 0; ; attempt++) {
      const progress = createProgress({
        mode: options.quiet ? "quiet" : deps.stderrIsTTY ? "tty" : "lines",
        write: deps.stderr,
        now: deps.now,
        columns: deps.columns,
        label: options.name,
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
          deps.stderr(
            `iot-upload: the server is busy; retrying in ${seconds} s (retry ${attempt + 1} of ${options.retries})\n`,
          );
        }
        await deps.sleep(seconds * 1000);
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
  });
}
