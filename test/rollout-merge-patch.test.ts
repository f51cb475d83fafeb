/**
 * The rollouts' JSON merge patch against RFC 7386: every example of its appendix A and the
 * example of section 3, inputs left untouched, members named like Object.prototype's kept as
 * plain data, and depth.
 */
import { describe, expect, it } from "vitest";
import { mergePatch, mergePatchValue } from "../src/features/rollouts/merge-patch.js";

/** RFC 7386 appendix A: original, patch, result. */
const APPENDIX_A: Array<[string, string, string]> = [
  ['{"a":"b"}', '{"a":"c"}', '{"a":"c"}'],
  ['{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'],
  ['{"a":"b"}', '{"a":null}', "{}"],
  ['{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'],
  ['{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'],
  ['{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'],
  ['{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'],
  ['{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'],
  ['["a","b"]', '["c","d"]', '["c","d"]'],
  ['{"a":"b"}', '["c"]', '["c"]'],
  ['{"a":"foo"}', "null", "null"],
  ['{"a":"foo"}', '"bar"', '"bar"'],
  ['{"e":null}', '{"a":1}', '{"e":null,"a":1}'],
  ["[1,2]", '{"a":"b","c":null}', '{"a":"b"}'],
  ["{}", '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}'],
];

describe("mergePatch (RFC 7386)", () => {
  it.each(APPENDIX_A)("appendix A: %s patched with %s is %s", (original, patch, result) => {
    const target = JSON.parse(original);
    const before = JSON.stringify(target);
    expect(mergePatchValue(target, JSON.parse(patch))).toEqual(JSON.parse(result));
    expect(JSON.stringify(target)).toBe(before);
  });

  it("section 3's example: members replaced, added, removed deep down, arrays replaced whole", () => {
    const target = {
      title: "Goodbye!",
      author: { givenName: "John", familyName: "Doe" },
      tags: ["example", "sample"],
      content: "This will be unchanged",
    };
    const patch = { title: "Hello!", phoneNumber: "+01-123-456-7890", author: { familyName: null }, tags: ["example"] };
    const result = mergePatch(target, patch);
    expect(JSON.stringify(result)).toBe(
      JSON.stringify({
        title: "Hello!",
        author: { givenName: "John" },
        tags: ["example"],
        content: "This will be unchanged",
        phoneNumber: "+01-123-456-7890",
      }),
    );
  });

  it("changes neither input, and returns a new object on every path it touches", () => {
    const target = { firmware: { url: "a", version: "1.0", extra: { keep: [1, 2] } }, other: { x: 1 } };
    const patch = { firmware: { url: "b", version: null, extra: { add: true } }, gone: null };
    const targetBefore = structuredClone(target);
    const patchBefore = structuredClone(patch);
    const result = mergePatch(target, patch) as typeof target & { firmware: { extra: Record<string, unknown> } };
    expect(result).toEqual({ firmware: { url: "b", extra: { keep: [1, 2], add: true } }, other: { x: 1 } });
    expect(target).toEqual(targetBefore);
    expect(patch).toEqual(patchBefore);
    expect(result).not.toBe(target);
    expect(result.firmware).not.toBe(target.firmware);
    expect(result.firmware.extra).not.toBe(target.firmware.extra);
    // Writing into the result never reaches the target.
    result.firmware.extra.more = 1;
    expect(target.firmware.extra).toEqual({ keep: [1, 2] });
  });

  it("keeps __proto__, constructor and prototype as plain members, never touching any prototype", () => {
    const target = JSON.parse('{"constructor":{"a":1},"keep":true}');
    const patch = JSON.parse(
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"prototype":{"x":null,"y":1}}',
    );
    const result = mergePatch(target, patch);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((result as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.keys(result)).toEqual(["constructor", "keep", "__proto__", "prototype"]);
    expect(JSON.parse(JSON.stringify(result))).toEqual(
      JSON.parse(
        '{"constructor":{"a":1,"prototype":{"polluted":true}},"keep":true,"__proto__":{"polluted":true},"prototype":{"y":1}}',
      ),
    );
    expect(JSON.stringify(result)).toContain('"__proto__":{"polluted":true}');
  });

  it("does not read a member the target only inherits (constructor, __proto__, toString)", () => {
    const result = mergePatch({}, JSON.parse('{"constructor":{"name":"x"},"__proto__":{"a":1},"toString":{"b":2}}'));
    expect(JSON.stringify(result)).toBe('{"constructor":{"name":"x"},"__proto__":{"a":1},"toString":{"b":2}}');
  });

  it("merges a patch 32 levels deep into a target nested deeper still", () => {
    const nest = (depth: number, leaf: unknown): Record<string, unknown> => {
      let value: unknown = leaf;
      for (let i = 0; i < depth; i++) value = { n: value, [`k${i}`]: i };
      return value as Record<string, unknown>;
    };
    const target = nest(200, "old");
    const patch = nest(32, { deep: "new" });
    const result = mergePatch(target, patch);
    let walk: unknown = result;
    for (let i = 0; i < 32; i++) walk = (walk as Record<string, unknown>).n;
    // At depth 32 the patch's leaf object merged into the target's subtree, which continues below.
    expect((walk as Record<string, unknown>).deep).toBe("new");
    expect((walk as Record<string, unknown>).k167).toBe(167);
    expect(JSON.stringify(target)).toBe(JSON.stringify(nest(200, "old")));
  });
});
