/**
 * `iot-rollout create` options → a checked CreateOptions. The rules SPEC gives for the body
 * (waves strictly increasing, each 1–100, ending at 100; percentages 1–100) are checked here
 * too, so a typo costs a usage error instead of a round trip; the server still decides
 * everything else (name length, patch size, targets without a config). Files named by
 * --patch-file and --targets-file are read later, by rollout-create.ts.
 */
import { EVIDENCE, type Evidence } from "../features/rollouts/contract.js";
import { macOf } from "./device-args.js";
import { usageError } from "./errors.js";
import { forTerminal } from "./terminal-text.js";

export type Given = { from: "text"; text: string } | { from: "file"; path: string };

export interface CreateOptions {
  name: string;
  patch: Given;
  /** "all", MACs given on the command line (checked), or a file of them (checked once read). */
  targets: "all" | string[] | { from: "file"; path: string };
  waves: number[];
  /** Absent: the server's default (report). */
  evidence?: Evidence;
  appliedPercent: number;
  withinSeconds: number;
  failedPercent: number;
}

export interface CreateValues {
  name?: string;
  patch?: string;
  "patch-file"?: string;
  targets?: string;
  "targets-file"?: string;
  waves?: string;
  evidence?: string;
  "advance-applied"?: string;
  within?: string;
  "halt-failed"?: string;
}

const MAX_ECHO = 64;

export function createOptionsOf(v: CreateValues): CreateOptions {
  if (v.name === undefined || v.name.trim() === "") throw usageError("create needs --name NAME (not blank)");
  return {
    name: v.name,
    patch: oneOf("--patch JSON", v.patch, "--patch-file FILE", v["patch-file"]),
    targets: targetsOf(v.targets, v["targets-file"]),
    waves: wavesOf(v.waves),
    evidence: evidenceOf(v.evidence),
    appliedPercent: percentOf("--advance-applied", v["advance-applied"]),
    withinSeconds: secondsOf(v.within),
    failedPercent: percentOf("--halt-failed", v["halt-failed"]),
  };
}

function oneOf(textFlag: string, text: string | undefined, fileFlag: string, path: string | undefined): Given {
  if (text !== undefined && path !== undefined) throw usageError(`give ${textFlag} or ${fileFlag}, not both`);
  if (text !== undefined) return { from: "text", text };
  if (path === undefined) throw usageError(`create needs ${textFlag} or ${fileFlag}`);
  if (path === "") throw usageError(`${fileFlag.split(" ")[0]} must name a file`);
  return { from: "file", path };
}

function targetsOf(list: string | undefined, file: string | undefined): CreateOptions["targets"] {
  const given = oneOf("--targets all|MAC,MAC", list, "--targets-file FILE", file);
  if (given.from === "file") return given;
  return given.text.trim() === "all" ? "all" : macsOf(given.text, "--targets");
}

/**
 * MACs separated by commas, spaces or line breaks (a file may also hold `#` comments),
 * each checked and lower-cased; one given twice is refused (which order would it take?).
 */
export function macsOf(text: string, where: string): string[] {
  const words = text
    .split("\n")
    .map((line) => line.replace(/#.*/, ""))
    .join(" ")
    .split(/[\s,]+/)
    .filter((word) => word !== "");
  if (words.length === 0) throw usageError(`${where} names no MAC address (use "all" for every device with a config)`);
  const seen = new Set<string>();
  return words.map((word) => {
    const mac = macOf(word);
    if (seen.has(mac)) throw usageError(`${where} names ${mac} twice`);
    seen.add(mac);
    return mac;
  });
}

function wavesOf(text: string | undefined): number[] {
  if (text === undefined)
    throw usageError("create needs --waves, cumulative percentages ending at 100, e.g. 1,10,50,100");
  const words = text.split(",").map((w) => w.trim());
  const waves = words.map((word) => {
    if (!/^\d{1,3}$/.test(word) || Number(word) < 1 || Number(word) > 100) {
      throw usageError(`--waves takes whole percentages from 1 to 100, got "${forTerminal(word, MAX_ECHO)}"`);
    }
    return Number(word);
  });
  for (let k = 1; k < waves.length; k++) {
    if ((waves[k] as number) <= (waves[k - 1] as number)) {
      throw usageError(`--waves are cumulative, so each is larger than the one before: ${waves.join(",")}`);
    }
  }
  if (waves.at(-1) !== 100) throw usageError(`the last of --waves must be 100 (every target), got ${waves.join(",")}`);
  return waves;
}

function evidenceOf(text: string | undefined): Evidence | undefined {
  if (text === undefined) return undefined;
  if ((EVIDENCE as readonly string[]).includes(text)) return text as Evidence;
  throw usageError(`--evidence must be ${EVIDENCE.join(" or ")}, got "${forTerminal(text, MAX_ECHO)}"`);
}

function percentOf(flag: string, text: string | undefined): number {
  if (text === undefined) throw usageError(`create needs ${flag} PERCENT (a whole number from 1 to 100)`);
  if (!/^\d{1,3}$/.test(text) || Number(text) < 1 || Number(text) > 100) {
    throw usageError(`${flag} must be a whole number from 1 to 100, got "${forTerminal(text, MAX_ECHO)}"`);
  }
  return Number(text);
}

function secondsOf(text: string | undefined): number {
  if (text === undefined) {
    throw usageError("create needs --within SECONDS (how long a released device has to apply before it counts failed)");
  }
  // The upper bound is the server's to set; nine digits keep the number exact and the message short.
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) {
    throw usageError(`--within must be a whole number of seconds, at least 1, got "${forTerminal(text, MAX_ECHO)}"`);
  }
  return Number(text);
}
