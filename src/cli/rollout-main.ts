/**
 * iot-rollout: create, list, watch and steer rollouts. `runRollout` takes every outside
 * dependency as an argument and returns the exit status; `main` wires it to this process.
 */
import { readFile, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { RolloutView } from "../features/rollouts/contract.js";
import { VERSION } from "../version.js";
import type { AdminCliDeps } from "./admin-args.js";
import { adminServerOf } from "./admin-token.js";
import { describeFsError, EXIT, isCliError, localError } from "./errors.js";
import { reportFailure, reportUsage } from "./report.js";
import { parseRolloutCommand, ROLLOUT_COMMANDS, type RolloutRun } from "./rollout-args.js";
import { createBody, type ReadText } from "./rollout-create.js";
import { ROLLOUT_USAGE } from "./rollout-help.js";
import { jsonLine } from "./rollout-json.js";
import { actedText, createdText, frame, listText } from "./rollout-render.js";
import { actOnRollout, createRollout, getRollout, listRollouts, type RolloutServer } from "./rollout-request.js";
import { watchRollout } from "./rollout-watch.js";

export interface RolloutCliDeps extends AdminCliDeps {
  sleep: (ms: number) => Promise<void>;
  /** Set when stdout is a terminal: its width now (it may be resized during a watch). */
  tty?: { columns: () => number };
  readText: ReadText;
}

const NAME = "iot-rollout";
/** status --watch: the rollout ended, but not completed (halted, aborted, rolled_back). */
export const EXIT_NOT_COMPLETED = 4;
/** Far above any server's body limit (its 413 names the real one); it only keeps a wrong file from filling memory. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

export async function runRollout(deps: RolloutCliDeps): Promise<number> {
  let command: ReturnType<typeof parseRolloutCommand>;
  try {
    command = parseRolloutCommand(deps.argv, deps.env);
  } catch (error) {
    const topic = ROLLOUT_COMMANDS.find((c) => deps.argv.includes(c)) ?? "general";
    return reportUsage(NAME, error, ROLLOUT_USAGE[topic], deps.stderr);
  }
  if (command.kind === "help") {
    deps.stdout(ROLLOUT_USAGE[command.topic ?? "general"]);
    return EXIT.OK;
  }
  if (command.kind === "version") {
    deps.stdout(`${NAME} ${VERSION}\n`);
    return EXIT.OK;
  }
  try {
    const server = await adminServerOf(command.connection, {
      name: NAME,
      platform: deps.platform,
      stderr: deps.stderr,
    });
    return await carryOut(command.run, server, command.json, deps);
  } catch (error) {
    return reportFailure(NAME, error, deps.stderr);
  }
}

async function carryOut(run: RolloutRun, server: RolloutServer, json: boolean, deps: RolloutCliDeps): Promise<number> {
  const show = (view: RolloutView, human: (v: RolloutView) => string) =>
    deps.stdout(json ? jsonLine(view) : human(view));
  switch (run.command) {
    case "create": {
      const body = await createBody(run.create, deps.readText);
      show(await createRollout(server, body, deps), createdText);
      return EXIT.OK;
    }
    case "list": {
      const views = await listRollouts(server, deps);
      deps.stdout(json ? jsonLine({ rollouts: views, count: views.length }) : listText(views));
      return EXIT.OK;
    }
    case "status": {
      if (!run.watch) {
        const columns = deps.tty?.columns() ?? 80;
        show(await getRollout(server, run.id, deps), (v) => `${frame(v, columns, deps.clock()).join("\n")}\n`);
        return EXIT.OK;
      }
      const final = await watchRollout({
        get: () => getRollout(server, run.id, deps),
        write: deps.stdout,
        warn: (text) => deps.stderr(`${NAME}: ${text}`),
        clock: deps.clock,
        sleep: deps.sleep,
        // JSON lines are for programs: never redrawn in place, even on a terminal.
        tty: json ? undefined : deps.tty,
        json,
        intervalMs: run.watch.intervalMs,
      });
      return final.state === "completed" ? EXIT.OK : EXIT_NOT_COMPLETED;
    }
    default: {
      const action = run.command;
      show(await actOnRollout(server, run.id, action, deps), (v) => actedText(v, action));
      return EXIT.OK;
    }
  }
}

/** A whole text file, bounded; failures as CliErrors that name it. */
export async function readTextFile(path: string, what: string): Promise<string> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw localError(`cannot read ${what} ${path}: it is not a regular file`);
    if (info.size > MAX_FILE_BYTES) throw localError(`${what} ${path} is larger than any rollout can be`);
    return await readFile(path, "utf8");
  } catch (error) {
    if (isCliError(error)) throw error;
    throw localError(`cannot read ${what} ${path}: ${describeFsError(error)}`, error);
  }
}

/** The command in this process: real stdio, fetch, clock and terminal. */
export async function main(argv = process.argv.slice(2)): Promise<number> {
  const out = process.stdout;
  return runRollout({
    argv,
    env: process.env,
    stdout: (text) => out.write(text),
    stderr: (text) => process.stderr.write(text),
    fetch: globalThis.fetch,
    clock: () => new Date(),
    sleep: (ms) => sleep(ms),
    // A pseudo-terminal without a size (e.g. under `script`) reports 0 columns.
    tty: out.isTTY ? { columns: () => (out.columns > 0 ? out.columns : 80) } : undefined,
    platform: process.platform,
    readText: readTextFile,
  });
}
