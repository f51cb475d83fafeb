/**
 * docs/plugins.md against the code it explains: every part of defineSink, every setting
 * type, every requirement flag, every conformance check and capability is named in it, so
 * a part added to the code without the guide fails here. (The example plugin shown in it is
 * checked by test/plugin-example.test.ts, its settings table by test/settings-tables.test.ts.)
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ZodType } from "zod";
import * as settingTypes from "../src/core/setting-types.js";
import { CAPABILITIES } from "../src/core/sinks/plugin.js";
import { SINK_CHECKS } from "./support/sink-conformance.js";

const ROOT = join(import.meta.dirname, "..");
const guide = await readFile(join(ROOT, "docs/plugins.md"), "utf8");
const missing = (names: readonly string[]) => names.filter((name) => !guide.includes(`\`${name}`));

describe("the plugin guide (docs/plugins.md)", () => {
  it("is where the README points plugin authors", async () => {
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    expect(readme).toContain("[docs/plugins.md](docs/plugins.md)");
  });

  it("names every part defineSink takes", async () => {
    const source = await readFile(join(ROOT, "src/core/sinks/define-sink.ts"), "utf8");
    const body = /export interface SinkParts \{([\s\S]*?)\n\}/.exec(source)?.[1] ?? "";
    const parts = [...body.matchAll(/^ {2}(\w+)\??[(:]/gm)].map((m) => m[1] as string);
    expect(parts).toEqual(expect.arrayContaining(["name", "deliver", "ready", "queueDepth", "shutdown"]));
    expect(missing(parts)).toEqual([]);
  });

  it("names every setting type of src/core/setting-types.ts", () => {
    const types = Object.entries(settingTypes)
      .filter(
        ([, value]) =>
          value instanceof ZodType ||
          (typeof value === "function" && (value as (arg: number) => unknown)(0) instanceof ZodType),
      )
      .map(([name]) => name);
    expect(types).toEqual(expect.arrayContaining(["int", "bool", "optionalText", "pem", "hashList"]));
    expect(missing(types)).toEqual([]);
  });

  it("names every requirement flag a plugin may declare", () => {
    expect(missing(CAPABILITIES)).toEqual([]);
  });

  it("lists every conformance check by its title, and every capability a sink may lack", () => {
    const checks = Object.values(SINK_CHECKS);
    expect(checks.map((check) => check.title).filter((title) => !guide.includes(`| ${title} |`))).toEqual([]);
    expect(missing([...new Set(checks.flatMap((check) => check.needs))])).toEqual([]);
  });
});
