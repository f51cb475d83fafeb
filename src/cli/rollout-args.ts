/**
 * iot-rollout's command line and environment → what to do. Pure, like args.ts and
 * device-args.ts: the caller passes argv and env, and files named here are read later
 * (rollout-create.ts). The admin token is never an argument: IOT_ADMIN_TOKEN or
 * --admin-token-file, as for iot-device (admin-args.ts).
 */
import { ROLLOUT_ACTIONS, type RolloutAction } from "../features/rollouts/contract.js";
import { ADMIN_OPTIONS, type AdminTokenSource, adminServerBase, adminSource, refuseTokenOnArgv } from "./admin-args.js";
import { type Env, parseOptions } from "./command-line.js";
import { usageError } from "./errors.js";
import { type CreateOptions, createOptionsOf } from "./rollout-create-args.js";
import { forTerminal } from "./terminal-text.js";

export const ROLLOUT_COMMANDS = ["create", "list", "status", ...ROLLOUT_ACTIONS] as const;
export type RolloutCommandName = (typeof ROLLOUT_COMMANDS)[number];

export type RolloutRun =
  | { command: "create"; create: CreateOptions }
  | { command: "list" }
  /** `watch` absent: one look. */
  | { command: "status"; id: string; watch?: { intervalMs: number } }
  | { command: RolloutAction; id: string };

export interface Connection {
  /** The server's base URL, ending in `/`. */
  base: URL;
  admin: AdminTokenSource;
}

export type RolloutCommand =
  | { kind: "help"; topic?: RolloutCommandName }
  | { kind: "version" }
  | { kind: "run"; run: RolloutRun; connection: Connection; json: boolean };

const OPTIONS = {
  ...ADMIN_OPTIONS,
  // create
  name: { type: "string" },
  patch: { type: "string" },
  "patch-file": { type: "string" },
  targets: { type: "string" },
  "targets-file": { type: "string" },
  waves: { type: "string" },
  evidence: { type: "string" },
  "advance-applied": { type: "string" },
  within: { type: "string" },
  "halt-failed": { type: "string" },
  // status
  watch: { type: "boolean" },
  interval: { type: "string" },
} as const;

type OptionName = keyof typeof OPTIONS;
const SHARED = Object.keys(ADMIN_OPTIONS) as OptionName[];
const CREATE_ONLY: OptionName[] = [
  "name",
  "patch",
  "patch-file",
  "targets",
  "targets-file",
  "waves",
  "evidence",
  "advance-applied",
  "within",
  "halt-failed",
];
const STATUS_ONLY: OptionName[] = ["watch", "interval"];

/** What a rollout id looks like (the server answers 404 for anything else: it is checked here to say so sooner). */
const ROLLOUT_ID = /^[1-9][0-9]{0,8}$/;
/** How much of a mistyped command or id is echoed. */
const MAX_ECHO = 64;
/** --interval bounds, seconds: faster than the engine decides is pointless, slower than an hour is not watching. */
const MIN_INTERVAL_S = 0.2;
const MAX_INTERVAL_S = 3600;
const DEFAULT_INTERVAL_S = 1;

export function parseRolloutCommand(argv: string[], env: Env): RolloutCommand {
  refuseTokenOnArgv(argv);
  const { values, positionals } = parseOptions(argv, OPTIONS);
  const [word, ...rest] = positionals;
  const command = word === undefined ? undefined : commandOf(word, values.help === true);
  if (values.help) return { kind: "help", topic: command };
  if (values.version) return { kind: "version" };
  if (command === undefined) throw usageError(`missing the command: one of ${ROLLOUT_COMMANDS.join(", ")}`);

  checkOptionsFit(command, values);
  const json = values.json === true;
  if (command === "create" || command === "list") {
    if (rest.length > 0) throw usageError(`${command} takes no arguments besides its options, got ${rest.length}`);
    const run: RolloutRun = command === "create" ? { command, create: createOptionsOf(values) } : { command };
    return { kind: "run", run, connection: connectionOf(values, env), json };
  }
  const id = idOf(command, rest);
  const run: RolloutRun =
    command === "status" ? { command, id, ...watchOf(values.watch === true, values.interval) } : { command, id };
  return { kind: "run", run, connection: connectionOf(values, env), json };
}

function commandOf(word: string, forHelp: boolean): RolloutCommandName | undefined {
  if ((ROLLOUT_COMMANDS as readonly string[]).includes(word)) return word as RolloutCommandName;
  // `--help` with an unknown word still helps: the general usage names the commands.
  if (forHelp) return undefined;
  throw usageError(`unknown command "${forTerminal(word, MAX_ECHO)}": expected one of ${ROLLOUT_COMMANDS.join(", ")}`);
}

/** An option of another command is a mistake worth naming (a --waves given to status would otherwise be ignored). */
function checkOptionsFit(command: RolloutCommandName, values: Partial<Record<OptionName, unknown>>): void {
  const fits = new Set<OptionName>([
    ...SHARED,
    ...(command === "create" ? CREATE_ONLY : []),
    ...(command === "status" ? STATUS_ONLY : []),
  ]);
  for (const name of Object.keys(values) as OptionName[]) {
    if (values[name] === undefined || fits.has(name)) continue;
    const owner = CREATE_ONLY.includes(name) ? "create" : "status";
    throw usageError(`--${name} goes with ${owner}, not with ${command}`);
  }
}

function idOf(command: RolloutCommandName, rest: string[]): string {
  const [id, ...more] = rest;
  if (id === undefined)
    throw usageError(`missing the rollout id, e.g. iot-rollout ${command} 7 (iot-rollout list shows them)`);
  if (more.length > 0) throw usageError(`expected one rollout id after ${command}, got ${rest.length} arguments`);
  if (!ROLLOUT_ID.test(id)) {
    throw usageError(
      `"${forTerminal(id, MAX_ECHO)}" is not a rollout id: ids are whole numbers from 1, as create and list print them`,
    );
  }
  return id;
}

function watchOf(watch: boolean, interval: string | undefined): { watch?: { intervalMs: number } } {
  if (!watch) {
    if (interval !== undefined) throw usageError("--interval goes with --watch");
    return {};
  }
  if (interval === undefined) return { watch: { intervalMs: DEFAULT_INTERVAL_S * 1000 } };
  const seconds = /^\d+(\.\d+)?$/.test(interval) ? Number(interval) : Number.NaN;
  if (!(seconds >= MIN_INTERVAL_S && seconds <= MAX_INTERVAL_S)) {
    throw usageError(
      `--interval must be a number of seconds from ${MIN_INTERVAL_S} to ${MAX_INTERVAL_S}, got "${forTerminal(interval, MAX_ECHO)}"`,
    );
  }
  return { watch: { intervalMs: Math.round(seconds * 1000) } };
}

function connectionOf(values: { server?: string; "admin-token-file"?: string }, env: Env): Connection {
  return { base: adminServerBase(values.server, env), admin: adminSource(values["admin-token-file"], env) };
}
