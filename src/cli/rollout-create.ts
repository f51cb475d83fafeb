/**
 * CreateOptions → the body of POST /api/rollouts (SPEC "Rollouts"), reading --patch-file and
 * --targets-file. A patch that is not a JSON object is refused here with where it came from;
 * the server applies every other rule.
 */
import { usageError } from "./errors.js";
import { type CreateOptions, type Given, macsOf } from "./rollout-create-args.js";

/** Reads a whole text file; fails with a CliError that names the file (see readTextFile in rollout-main.ts). */
export type ReadText = (path: string, what: string) => Promise<string>;

export interface CreateBody {
  name: string;
  patch: Record<string, unknown>;
  targets: string[] | "all";
  waves: number[];
  evidence?: string;
  advance_when: { applied_percent: number; within_s: number };
  halt_when: { failed_percent: number };
}

export async function createBody(options: CreateOptions, readText: ReadText): Promise<CreateBody> {
  return {
    name: options.name,
    patch: await patchOf(options.patch, readText),
    targets: await targetsOf(options.targets, readText),
    waves: options.waves,
    ...(options.evidence === undefined ? {} : { evidence: options.evidence }),
    advance_when: { applied_percent: options.appliedPercent, within_s: options.withinSeconds },
    halt_when: { failed_percent: options.failedPercent },
  };
}

async function patchOf(given: Given, readText: ReadText): Promise<Record<string, unknown>> {
  const where = given.from === "text" ? "--patch" : `--patch-file ${given.path}`;
  const text = given.from === "text" ? given.text : await readText(given.path, "the patch file");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // JSON.parse's message says where it stopped ("Unexpected token } in JSON at position 12").
    throw usageError(`${where} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw usageError(
      `${where} must be a JSON object (a merge patch: the fields to set, null for those to remove), e.g. '{"firmware": {"version": "1.4.2"}}'`,
    );
  }
  return value as Record<string, unknown>;
}

async function targetsOf(targets: CreateOptions["targets"], readText: ReadText): Promise<string[] | "all"> {
  if (targets === "all" || Array.isArray(targets)) return targets;
  return macsOf(await readText(targets.path, "the targets file"), `--targets-file ${targets.path}`);
}
