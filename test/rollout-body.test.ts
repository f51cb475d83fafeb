/**
 * The create body of a rollout (SPEC "Rollouts"): a valid body becomes a RolloutSpec with
 * its defaults and normalised MACs, and each hostile body is 400 VALIDATION_FAILED naming
 * the field at fault in details.field.
 */
import { describe, expect, it } from "vitest";
import { isAppError } from "../src/core/errors.js";
import {
  MAX_PATCH_BYTES,
  MAX_TARGETS,
  readRolloutBody,
  rolloutBodyLimit,
} from "../src/features/rollouts/rollout-body.js";

const VALID = {
  name: "firmware 1.4.2",
  patch: { firmware: { url: "https://example.com/fw.bin", version: "1.4.2" } },
  targets: ["AA-BB-CC-DD-EE-01", "aa-bb-cc-dd-ee-02"],
  waves: [1, 10, 50, 100],
  advance_when: { applied_percent: 90, within_s: 600 },
  halt_when: { failed_percent: 10 },
};

const body = (changes: Record<string, unknown>): Record<string, unknown> => {
  const result: Record<string, unknown> = { ...structuredClone(VALID), ...changes };
  for (const [key, value] of Object.entries(changes)) if (value === undefined) delete result[key];
  return result;
};

/** What readRolloutBody throws for `raw`: its code, status and details.field. */
function refusal(raw: unknown): { code: string; status: number; field: unknown } {
  try {
    readRolloutBody(raw);
  } catch (error) {
    if (!isAppError(error)) throw error;
    return { code: error.code, status: error.status, field: error.details.field };
  }
  throw new Error("accepted");
}

const nested = (depth: number): Record<string, unknown> => {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < depth; i++) value = { n: value };
  return value;
};
const macs = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => `aa-bb-cc-${[i >> 16, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, "0")).join("-")}`,
  );

describe("readRolloutBody", () => {
  it("turns a valid body into a RolloutSpec: MACs lower-cased, evidence defaulting to report", () => {
    expect(readRolloutBody(structuredClone(VALID))).toEqual({
      ...VALID,
      targets: ["aa-bb-cc-dd-ee-01", "aa-bb-cc-dd-ee-02"],
      evidence: "report",
    });
    expect(readRolloutBody(body({ targets: "all", evidence: "fetch", waves: [100] }))).toMatchObject({
      targets: "all",
      evidence: "fetch",
      waves: [100],
    });
  });

  it("accepts the limits themselves", () => {
    const spec = readRolloutBody(
      body({
        name: "n".repeat(100),
        targets: macs(MAX_TARGETS),
        waves: Array.from({ length: 20 }, (_, i) => (i + 1) * 5),
        advance_when: { applied_percent: 100, within_s: 604_800 },
        halt_when: { failed_percent: 1 },
        patch: nested(32),
      }),
    );
    expect(spec.targets).toHaveLength(MAX_TARGETS);
    expect(readRolloutBody(body({ patch: { blob: "x".repeat(MAX_PATCH_BYTES - 12) } })).patch).toBeDefined();
  });

  const HOSTILE: Array<[string, string, unknown]> = [
    ["not an object", "body", [VALID]],
    ["null", "body", null],
    ["a string", "body", "{}"],
    ["an unknown top-level field", "dry_run", body({ dry_run: true })],
    ["a __proto__ member", "__proto__", JSON.parse(`{"__proto__":{"x":1},${JSON.stringify(VALID).slice(1)}`)],
    [
      "an unknown field in advance_when",
      "advance_when.after_s",
      body({ advance_when: { applied_percent: 90, within_s: 60, after_s: 5 } }),
    ],
    [
      "an unknown field in halt_when",
      "halt_when.failed_count",
      body({ halt_when: { failed_percent: 10, failed_count: 3 } }),
    ],
    ["no name", "name", body({ name: undefined })],
    ["a number for name", "name", body({ name: 42 })],
    ["an empty name", "name", body({ name: "" })],
    ["a blank name", "name", body({ name: "   " })],
    ["a name of 101 characters", "name", body({ name: "n".repeat(101) })],
    ["a name with a newline", "name", body({ name: "fw\n1.4" })],
    ["a name with an escape sequence", "name", body({ name: "fw \u001b[2J" })],
    ["a name with a bidirectional override", "name", body({ name: "fw \u202e2.4.1" })],
    ["a name with a zero-width space", "name", body({ name: "fw\u200b1.4" })],
    ["a name with a lone surrogate", "name", body({ name: "fw \ud800" })],
    ["no patch", "patch", body({ patch: undefined })],
    ["a patch that is an array", "patch", body({ patch: [{ a: 1 }] })],
    ["a patch that is null", "patch", body({ patch: null })],
    ["a patch that is a string", "patch", body({ patch: '{"a":1}' })],
    ["an empty patch", "patch", body({ patch: {} })],
    ["a patch 33 levels deep", "patch", body({ patch: nested(33) })],
    ["a patch 10,000 levels deep", "patch", body({ patch: nested(10_000) })],
    ["a patch over 64 KiB", "patch", body({ patch: { blob: "x".repeat(MAX_PATCH_BYTES) } })],
    ["a patch over 64 KiB in UTF-8", "patch", body({ patch: { blob: "é".repeat(MAX_PATCH_BYTES / 2) } })],
    ["no targets", "targets", body({ targets: undefined })],
    ["targets: none", "targets", body({ targets: [] })],
    ["targets: ALL in capitals", "targets", body({ targets: "ALL" })],
    ["targets: one MAC as a string", "targets", body({ targets: "aa-bb-cc-dd-ee-ff" })],
    ["too many targets", "targets", body({ targets: macs(MAX_TARGETS + 1) })],
    ["a target with colons", "targets[1]", body({ targets: ["aa-bb-cc-dd-ee-01", "aa:bb:cc:dd:ee:02"] })],
    ["a target that is a number", "targets[0]", body({ targets: [1234] })],
    ["a target that is null", "targets[1]", body({ targets: ["aa-bb-cc-dd-ee-01", null] })],
    ["a target with a path", "targets[0]", body({ targets: ["../../etc/passwd"] })],
    ["a target too long", "targets[0]", body({ targets: ["aa-bb-cc-dd-ee-ff-00"] })],
    [
      "a target repeated",
      "targets[2]",
      body({ targets: ["aa-bb-cc-dd-ee-01", "aa-bb-cc-dd-ee-02", "aa-bb-cc-dd-ee-01"] }),
    ],
    ["a target repeated in another case", "targets[1]", body({ targets: ["aa-bb-cc-dd-ee-0a", "AA-BB-CC-DD-EE-0A"] })],
    ["no waves", "waves", body({ waves: undefined })],
    ["waves: none", "waves", body({ waves: [] })],
    ["waves: a number", "waves", body({ waves: 100 })],
    ["21 waves", "waves", body({ waves: [...Array.from({ length: 20 }, (_, i) => i + 1), 100] })],
    ["a wave of 0", "waves[0]", body({ waves: [0, 100] })],
    ["a wave over 100", "waves[1]", body({ waves: [50, 101] })],
    ["a fractional wave", "waves[0]", body({ waves: [1.5, 100] })],
    ["a wave as a string", "waves[0]", body({ waves: ["10", 100] })],
    ["a wave as a boolean", "waves[0]", body({ waves: [true, 100] })],
    ["waves not increasing", "waves[1]", body({ waves: [10, 10, 100] })],
    ["waves decreasing", "waves[1]", body({ waves: [50, 10, 100] })],
    ["waves not ending at 100", "waves[1]", body({ waves: [10, 50] })],
    ["evidence unknown", "evidence", body({ evidence: "ping" })],
    ["evidence null", "evidence", body({ evidence: null })],
    ["evidence in capitals", "evidence", body({ evidence: "REPORT" })],
    ["no advance_when", "advance_when", body({ advance_when: undefined })],
    ["advance_when null", "advance_when", body({ advance_when: null })],
    ["advance_when an array", "advance_when", body({ advance_when: [90, 600] })],
    ["no applied_percent", "advance_when.applied_percent", body({ advance_when: { within_s: 60 } })],
    ["applied_percent 0", "advance_when.applied_percent", body({ advance_when: { applied_percent: 0, within_s: 60 } })],
    [
      "applied_percent 101",
      "advance_when.applied_percent",
      body({ advance_when: { applied_percent: 101, within_s: 60 } }),
    ],
    [
      "applied_percent a string",
      "advance_when.applied_percent",
      body({ advance_when: { applied_percent: "90", within_s: 60 } }),
    ],
    ["no within_s", "advance_when.within_s", body({ advance_when: { applied_percent: 90 } })],
    ["within_s 0", "advance_when.within_s", body({ advance_when: { applied_percent: 90, within_s: 0 } })],
    [
      "within_s over a week",
      "advance_when.within_s",
      body({ advance_when: { applied_percent: 90, within_s: 604_801 } }),
    ],
    ["within_s fractional", "advance_when.within_s", body({ advance_when: { applied_percent: 90, within_s: 1.5 } })],
    ["within_s true", "advance_when.within_s", body({ advance_when: { applied_percent: 90, within_s: true } })],
    [
      "within_s 1e400 (Infinity)",
      "advance_when.within_s",
      body({ advance_when: { applied_percent: 90, within_s: JSON.parse("1e400") } }),
    ],
    ["no halt_when", "halt_when", body({ halt_when: undefined })],
    ["halt_when a number", "halt_when", body({ halt_when: 10 })],
    ["no failed_percent", "halt_when.failed_percent", body({ halt_when: {} })],
    ["failed_percent 0", "halt_when.failed_percent", body({ halt_when: { failed_percent: 0 } })],
    ["failed_percent negative", "halt_when.failed_percent", body({ halt_when: { failed_percent: -5 } })],
    ["failed_percent null", "halt_when.failed_percent", body({ halt_when: { failed_percent: null } })],
  ];

  it.each(HOSTILE)("refuses %s: 400 VALIDATION_FAILED naming %s", (_, field, raw) => {
    expect(refusal(raw)).toEqual({ code: "VALIDATION_FAILED", status: 400, field });
  });

  it("takes its body limit from MAX_CONFIG_BYTES, never under 2 MiB (100,000 targets fit)", () => {
    expect(rolloutBodyLimit(1024 * 1024)).toBe(2 * 1024 * 1024);
    expect(rolloutBodyLimit(8 * 1024 * 1024)).toBe(8 * 1024 * 1024);
    expect(JSON.stringify(body({ targets: macs(MAX_TARGETS) })).length).toBeLessThan(rolloutBodyLimit(0));
  });
});
