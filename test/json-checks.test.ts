/**
 * The two checks that guard config storage, proved against the real JSON.stringify
 * and JSON.parse: `indentedJsonSize` must equal the UTF-8 length of what
 * `JSON.stringify(v, null, 2)` writes and stop early past its limit, and
 * `inexactNumber` must refuse exactly the numbers a double would alter. Bounded
 * work is shown by counting visits, never by timing.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { inexactNumber } from "../src/features/configs/json-numbers.js";
import { indentedJsonSize, jsonStringLength, utf8Length } from "../src/features/configs/json-size.js";

const MiB = 1024 * 1024;
const encoder = new TextEncoder();
const bytesOf = (text: string) => encoder.encode(text).length;
const storedBytes = (v: unknown) => bytesOf(JSON.stringify(v, null, 2));
const newlines = (text: string) => text.split("\n").length - 1;

// --- arbitraries -------------------------------------------------------------------

/** One UTF-16 unit or code point of any kind: controls, quotes, lone surrogates, astral characters. */
const unitArb = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
  fc.constantFrom('"', "\\", "\b", "\f", "\n", "\r", "\t", "\u0000", "\u001f", "\u007f", "\u2028", "\ud800", "\udfff"),
);
const textArb = fc.string({ unit: unitArb, maxLength: 12 });
const keyArb = fc.oneof(textArb, fc.constantFrom("__proto__", "constructor", "toJSON", "0", "1e400"));
const numberArb = fc.oneof(
  fc.double(), // NaN, ±Infinity, -0 and subnormals included
  fc.integer(),
  fc.constantFrom(-0, 1e21, 1e-7, 123e-20, 5e-324, Number.MAX_VALUE, -Number.MIN_VALUE, 2 ** 53 + 2),
);
const scalarArb = fc.oneof(numberArb, textArb, fc.boolean(), fc.constant(null));

/** JSON-able values; objects are built with Object.fromEntries so `__proto__` is an own key, as JSON.parse makes it. */
const { value: jsonishArb } = fc.letrec<{ value: unknown; array: unknown[]; object: Record<string, unknown> }>(
  (tie) => ({
    value: fc.oneof({ maxDepth: 4, depthIdentifier: "jsonish" }, scalarArb, tie("array"), tie("object")),
    array: fc.array(fc.oneof(tie("value"), fc.constant(undefined)), { maxLength: 5, depthIdentifier: "jsonish" }),
    object: fc
      .array(fc.tuple(keyArb, fc.oneof(tie("value"), fc.constant(undefined))), {
        maxLength: 5,
        depthIdentifier: "jsonish",
      })
      .map((entries) => Object.fromEntries(entries)),
  }),
);

// --- indentedJsonSize --------------------------------------------------------------

describe("indentedJsonSize: exact", () => {
  it("equals the UTF-8 length of JSON.stringify(v, null, 2) for fc.jsonValue", () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: unitArb }), (v) => {
        expect(indentedJsonSize(v, Number.POSITIVE_INFINITY)).toBe(storedBytes(v));
      }),
      { numRuns: 300 },
    );
  });

  it("equals it for values with any unicode, lone surrogates, odd numbers, undefined members and __proto__ keys", () => {
    fc.assert(
      fc.property(jsonishArb, (v) => {
        expect(indentedJsonSize(v, Number.POSITIVE_INFINITY)).toBe(storedBytes(v));
      }),
      { numRuns: 500 },
    );
  });

  it("equals it for fc.anything restricted to what stringify accepts (null prototypes, sparse arrays)", () => {
    const anythingArb = fc.anything({
      key: keyArb,
      values: [scalarArb, fc.constant(undefined)],
      withNullPrototype: true,
      withSparseArray: true,
      withObjectString: true,
      maxDepth: 4,
    });
    fc.assert(
      fc.property(anythingArb, (v) => {
        fc.pre(v !== undefined); // stringify writes nothing at all, so there is no length to compare
        expect(indentedJsonSize(v, Number.POSITIVE_INFINITY)).toBe(storedBytes(v));
      }),
      { numRuns: 300 },
    );
  });

  it("agrees after a JSON.parse round trip, and JSON.parse's own __proto__ keys are counted", () => {
    fc.assert(
      fc.property(jsonishArb, (v) => {
        const parsed: unknown = JSON.parse(JSON.stringify(v) ?? "null");
        expect(indentedJsonSize(parsed, Number.POSITIVE_INFINITY)).toBe(storedBytes(parsed));
      }),
      { numRuns: 200 },
    );
    const text = '{"__proto__": {"__proto__": [1, "é"], "a": -0}, "b": 1e400, "c": -1e-400}';
    const parsed: unknown = JSON.parse(text);
    const stored = JSON.stringify(parsed, null, 2);
    expect(stored).toContain('"__proto__": {');
    expect(stored).toContain('"b": null');
    expect(indentedJsonSize(parsed, Number.POSITIVE_INFINITY)).toBe(bytesOf(stored));
  });

  it("writes scalars, empty containers and skipped members as stringify does", () => {
    const cases: unknown[] = [
      0,
      -0,
      Number.NaN,
      Number.NEGATIVE_INFINITY,
      1e21,
      1e-7,
      true,
      false,
      null,
      "",
      [],
      {},
      [[]],
      { a: {} },
      { a: undefined },
      { a: undefined, b: () => 1, c: Symbol("s") },
      [undefined, () => 1, Symbol("s")],
      // biome-ignore lint/suspicious/noSparseArray: holes are written as null
      [, 1, ,],
    ];
    for (const [i, v] of cases.entries())
      expect(indentedJsonSize(v, Number.POSITIVE_INFINITY), `case ${i}`).toBe(storedBytes(v));
    expect(indentedJsonSize(undefined, 10)).toBe(0);
    expect(() => indentedJsonSize([1n], 100)).toThrow(TypeError);
  });

  it("escapes every UTF-16 code unit, and every surrogate pairing, like stringify", () => {
    for (let c = 0; c <= 0xffff; c++) {
      const s = `a${String.fromCharCode(c)}b`;
      if (jsonStringLength(s) !== bytesOf(JSON.stringify(s))) expect.fail(`code unit ${c.toString(16)}`);
    }
    for (const s of ["\ud83d\ude00", "\ude00\ud83d", "\ud83d\ud83d\ude00", "\ud83d", "x\udfff", "\ud800\ud800"]) {
      expect(jsonStringLength(s), JSON.stringify(s)).toBe(bytesOf(JSON.stringify(s)));
    }
  });

  it("utf8Length matches TextEncoder, lone surrogates included", () => {
    fc.assert(
      fc.property(fc.string({ unit: unitArb, maxLength: 40 }), (s) => {
        expect(utf8Length(s)).toBe(bytesOf(s));
      }),
      { numRuns: 500 },
    );
  });
});

describe("indentedJsonSize: deep values", () => {
  /** n nested arrays, the innermost empty; level d (from 0) adds `[\n`, 2(d+1) spaces, `\n`, 2d spaces, `]`. */
  const nestedArrays = (n: number) => {
    let v: unknown = [];
    for (let i = 1; i < n; i++) v = [v];
    return v;
  };
  const nestedArraysBytes = (n: number) => 2 + 6 * (n - 1) + 2 * (n - 1) * (n - 2);

  it("checks the closed form against stringify where stringify still works", () => {
    for (const n of [1, 2, 3, 10, 1000]) expect(storedBytes(nestedArrays(n))).toBe(nestedArraysBytes(n));
  });

  it("counts 5,000 and 200,000 levels, where V8's recursive stringify throws RangeError", () => {
    expect(() => JSON.stringify(nestedArrays(200_000), null, 2)).toThrow(RangeError);
    expect(indentedJsonSize(nestedArrays(5000), Number.POSITIVE_INFINITY)).toBe(nestedArraysBytes(5000));
    expect(indentedJsonSize(nestedArrays(200_000), Number.POSITIVE_INFINITY)).toBe(nestedArraysBytes(200_000));
  });

  it("counts 5,000 levels of mixed arrays and objects exactly (oracle: stringify level by level)", () => {
    // A member at depth d is written as at depth 0 with 2d more spaces after each of its newlines,
    // so each level's share is measured by stringify with a placeholder where its child goes.
    const HOLE = "\u0000hole";
    const wrapperArb = fc.record({
      key: fc.option(textArb, { nil: undefined }), // undefined: an array level
      before: fc.array(fc.jsonValue({ maxDepth: 1, stringUnit: unitArb }), { maxLength: 2 }),
      after: fc.array(fc.jsonValue({ maxDepth: 1, stringUnit: unitArb }), { maxLength: 2 }),
    });
    type Wrapper = typeof wrapperArb extends fc.Arbitrary<infer W> ? W : never;
    const wrap = (w: Wrapper, child: unknown): unknown =>
      w.key === undefined
        ? [...w.before, child, ...w.after]
        : Object.fromEntries([
            ...w.before.map((v, i) => [`b${i}`, v]),
            [`k${w.key}`, child],
            ...w.after.map((v, i) => [`a${i}`, v]),
          ]);
    const depth = 5000;
    fc.assert(
      fc.property(fc.array(wrapperArb, { minLength: 1, maxLength: 8 }), jsonishArb, (wrappers, core) => {
        fc.pre(core !== undefined);
        const levels = Array.from({ length: depth }, (_, d) => wrappers[d % wrappers.length]!);
        let expected = storedBytes(core) + 2 * depth * newlines(JSON.stringify(core, null, 2));
        let value: unknown = core;
        for (let d = depth - 1; d >= 0; d--) {
          const level = levels[d]!;
          const shape = JSON.stringify(wrap(level, HOLE), null, 2);
          expected += bytesOf(shape) - bytesOf(JSON.stringify(HOLE)) + 2 * d * newlines(shape);
          value = wrap(level, value);
        }
        expect(indentedJsonSize(value, Number.POSITIVE_INFINITY)).toBe(expected);
      }),
      { numRuns: 15 },
    );
  });
});

describe("indentedJsonSize: early exit", () => {
  /** 2^levels leaves sharing structure; every read of a leaf's `n` is counted. */
  function countedTree(levels: number) {
    const counter = { reads: 0 };
    const leaf = Object.defineProperty({}, "n", {
      enumerable: true,
      get() {
        counter.reads++;
        return 1;
      },
    });
    let node: unknown = leaf;
    for (let i = 0; i < levels; i++) node = [node, node];
    return { node, counter };
  }

  it("stops a ~100 MB value after a bounded part of it (visits counted)", () => {
    const whole = countedTree(20);
    const fullSize = indentedJsonSize(whole.node, Number.POSITIVE_INFINITY);
    expect(whole.counter.reads).toBe(2 ** 20);
    expect(fullSize).toBeGreaterThan(90_000_000);

    const part = countedTree(20);
    const size = indentedJsonSize(part.node, MiB);
    expect(size).toBeGreaterThan(MiB);
    expect(size).toBeLessThan(fullSize);
    // Each leaf writes more than 40 bytes, so past 1 MiB no more than ~25,000 can have been read.
    expect(part.counter.reads).toBeGreaterThan(0);
    expect(part.counter.reads).toBeLessThan(30_000);
  });

  it("stops a value with 2^40 leaves, which a full walk could never finish", () => {
    const { node, counter } = countedTree(40);
    expect(indentedJsonSize(node, 100_000)).toBeGreaterThan(100_000);
    expect(counter.reads).toBeLessThan(2_000);
  });

  it("stops inside a long string or key without counting all of it", () => {
    const long = "é".repeat(5_000_000);
    expect(indentedJsonSize(long, 1000)).toBeGreaterThan(1000);
    expect(indentedJsonSize({ [long]: 1 }, 1000)).toBeGreaterThan(1000);
    expect(indentedJsonSize([long], Number.POSITIVE_INFINITY)).toBe(storedBytes([long]));
  });

  it("returns the exact size when it is at most the limit, and more than the limit otherwise", () => {
    fc.assert(
      fc.property(jsonishArb, fc.nat(400), (v, limit) => {
        fc.pre(v !== undefined);
        const exact = storedBytes(v);
        const size = indentedJsonSize(v, limit);
        if (exact <= limit) expect(size).toBe(exact);
        else expect(size).toBeGreaterThan(limit);
      }),
      { numRuns: 500 },
    );
  });

  it("sees the 60x blow-up of a ~1 MB body of nested empty arrays", () => {
    // 88 levels deep, then `[],` repeated: each 3-byte `[],` is stored as ~180 bytes.
    const outer = 88;
    const fill = Math.floor((1_000_000 - 2 * outer) / 3);
    const text = `${"[".repeat(outer)}${"[],".repeat(fill - 1)}[]${"]".repeat(outer)}`;
    expect(text.length).toBeLessThanOrEqual(1_000_000);
    const body: unknown = JSON.parse(text);

    const exceeded = indentedJsonSize(body, MiB);
    expect(exceeded).toBeGreaterThan(MiB);
    expect(exceeded).toBeLessThan(2 * MiB); // stopped near the limit, not at the end

    const stored = JSON.stringify(body, null, 2); // ASCII only: length is bytes
    expect(stored.length).toBeGreaterThan(55 * text.length);
    expect(indentedJsonSize(body, Number.POSITIVE_INFINITY)).toBe(stored.length);
  });

  it("stops on 500,000 levels of nested arrays (a 1 MB body whose output would be ~500 GB)", () => {
    const body: unknown = JSON.parse(`${"[".repeat(500_000)}${"]".repeat(500_000)}`);
    expect(indentedJsonSize(body, MiB)).toBeGreaterThan(MiB);
  });
});

// --- inexactNumber -----------------------------------------------------------------

/** The shortest decimal of d, as 0.digits × 10^exponent (digits without leading or trailing zeros). */
function shortestDecimal(d: number): { digits: string; exponent: number } {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(Math.abs(d)));
  if (!m) throw new Error(`unexpected String(${d})`);
  const all = `${m[1]}${m[2] ?? ""}`;
  const lead = all.length - all.replace(/^0+/, "").length;
  return { digits: all.replace(/^0+/, "").replace(/0+$/, ""), exponent: m[1]!.length - lead + Number(m[3] ?? 0) };
}

/** Another valid JSON spelling of the same decimal: point moved, zeros padded, exponent written differently. */
interface Spelling {
  split: number;
  leadingZeros: number;
  trailingZeros: number;
  upper: boolean;
  plus: boolean;
  omitZeroExponent: boolean;
}
const spellingArb: fc.Arbitrary<Spelling> = fc.record({
  split: fc.nat(25),
  leadingZeros: fc.nat(5),
  trailingZeros: fc.nat(5),
  upper: fc.boolean(),
  plus: fc.boolean(),
  omitZeroExponent: fc.boolean(),
});
function spell(d: number, s: Spelling): string {
  const { digits, exponent } = shortestDecimal(d);
  const padded = digits + "0".repeat(s.trailingZeros);
  let mantissa: string;
  let exp: number;
  if (s.split === 0) {
    mantissa = `0.${"0".repeat(s.leadingZeros)}${padded}`;
    exp = exponent + s.leadingZeros;
  } else {
    const p = Math.min(s.split, padded.length);
    mantissa = p === padded.length ? padded : `${padded.slice(0, p)}.${padded.slice(p)}`;
    exp = exponent - p;
  }
  const e = exp === 0 && s.omitZeroExponent ? "" : `${s.upper ? "E" : "e"}${s.plus && exp >= 0 ? "+" : ""}${exp}`;
  return `${d < 0 ? "-" : ""}${mantissa}${e}`;
}

const finiteArb = fc.double({ noNaN: true, noDefaultInfinity: true });
/** Integers beyond 2^53 in magnitude, up to 2^80. */
const bigIntegerArb = fc.oneof(
  fc.bigInt({ min: 2n ** 53n + 1n, max: 2n ** 80n }),
  fc.bigInt({ min: -(2n ** 80n), max: -(2n ** 53n) - 1n }),
);
/** The value of the shortest decimal of an integral double, exactly. */
function shortestAsBigInt(d: number): bigint {
  const { digits, exponent } = shortestDecimal(d);
  const magnitude = BigInt(digits) * 10n ** BigInt(exponent - digits.length);
  return d < 0 ? -magnitude : magnitude;
}

describe("inexactNumber", () => {
  it.each([
    "1.50",
    "1E2",
    "100",
    "0.1",
    "-0",
    "0.0",
    "0e-999999",
    "-0.000E+5",
    "1e20",
    "1e21",
    "9007199254740992",
    "9007199254740994",
    "-9007199254740992",
    "5e-324",
    "1.7976931348623157e308",
    "2.2250738585072014e-308",
    "12345678901234567000", // what 12345678901234567890 used to be stored as
    "123456789012345680000",
  ])("accepts %s", (token) => {
    expect(inexactNumber(token)).toBeUndefined();
    expect(inexactNumber(`{"k": [true, ${token}, null]}`)).toBeUndefined();
  });

  it.each([
    "1e400",
    "-1e400",
    "1e-400",
    "-1e-400",
    "12345678901234567890",
    "9007199254740993",
    "-9007199254740993",
    "3.14159265358979323846",
    "0.30000000000000000001",
    // Parse to a double whose shortest form is another decimal:
    "4.9e-324", // the smallest subnormal is written 5e-324
    "1.7976931348623158e308", // rounds to MAX_VALUE, written ...157e308
    "1152921504606846976", // exactly 2^60, but stored as 1152921504606847000
    "1180591620717411303424", // exactly 2^70, but stored as 1.1805916207174113e+21
  ])("refuses %s", (token) => {
    expect(inexactNumber(token)).toBe(token);
    expect(inexactNumber(`{"k": [true, ${token}, null]}`)).toBe(token);
  });

  it("ignores numbers in strings and keys, escaped quotes and backslashes included", () => {
    for (const text of ['"1e400"', '"\\"1e400"', '{"1e400": 1}', '["\\\\", "\\u0022 1e400", "\\\\\\" 1e-400"]']) {
      expect(inexactNumber(text), text).toBeUndefined();
    }
    expect(inexactNumber('["\\\\", 1e400]')).toBe("1e400");
    expect(inexactNumber('{"a\\"": -1e400}')).toBe("-1e400");
  });

  it("accepts every finite double as stringify and String write it, and with e0", () => {
    fc.assert(
      fc.property(finiteArb, (d) => {
        const texts = [JSON.stringify(d), String(d)];
        if (!String(d).includes("e")) texts.push(`${d}e0`, `${d}E+0`);
        for (const text of texts) {
          if (text === "-0") continue; // String(-0) is "0"; "-0" is covered by the table
          expect(JSON.parse(text)).toBe(d === 0 ? 0 : d);
          expect(inexactNumber(text), text).toBeUndefined();
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("accepts any other spelling of a double's shortest decimal", () => {
    fc.assert(
      fc.property(
        finiteArb.filter((d) => d !== 0),
        spellingArb,
        (d, s) => {
          const text = spell(d, s);
          expect(JSON.parse(text), text).toBe(d);
          expect(inexactNumber(text), text).toBeUndefined();
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("refuses every integer beyond 2^53 that a double cannot hold", () => {
    fc.assert(
      fc.property(bigIntegerArb, (n) => {
        fc.pre(BigInt(Number(n)) !== n);
        expect(inexactNumber(String(n))).toBe(String(n));
        expect(inexactNumber(`[0, ${n}.000]`)).toBe(`${n}.000`);
      }),
      { numRuns: 500 },
    );
  });

  it("accepts an integer beyond 2^53 exactly when stringify would write the same value back", () => {
    fc.assert(
      fc.property(bigIntegerArb, (n) => {
        const held = BigInt(Number(n)); // a double-representable neighbour, sometimes n itself
        const same = shortestAsBigInt(Number(held)) === held;
        expect(inexactNumber(String(held))).toBe(same ? undefined : String(held));
      }),
      { numRuns: 500 },
    );
  });

  it("never reports a number inside a string", () => {
    const badArb = fc.oneof(
      fc.constantFrom("1e400", "-1e-400", "9007199254740993"),
      bigIntegerArb.filter((n) => BigInt(Number(n)) !== n).map(String),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(textArb, badArb, finiteArb)), (items) => {
        const doc = Object.fromEntries(items.map(([k, bad, d], i) => [`${k}${bad}${i}`, [`${bad}`, `\\"${bad}`, d]]));
        expect(inexactNumber(JSON.stringify(doc))).toBeUndefined();
        expect(inexactNumber(JSON.stringify(doc, null, 2))).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it("returns the first bad token of a mixed document", () => {
    type Item = { kind: "good" | "bad" | "string"; text: string };
    const itemArb: fc.Arbitrary<Item> = fc.oneof(
      fc.tuple(finiteArb, spellingArb).map(([d, s]) => ({ kind: "good" as const, text: d === 0 ? "0" : spell(d, s) })),
      fc
        .oneof(
          fc.constantFrom("1e400", "-1e400", "1e-400", "3.14159265358979323846", "0.30000000000000000001"),
          bigIntegerArb.filter((n) => BigInt(Number(n)) !== n).map(String),
        )
        .map((text) => ({ kind: "bad" as const, text })),
      fc.string({ unit: unitArb }).map((s) => ({ kind: "string" as const, text: JSON.stringify(`1e400${s}`) })),
    );
    fc.assert(
      fc.property(fc.array(itemArb, { maxLength: 20 }), fc.boolean(), (items, asObject) => {
        const parts = items.map((item, i) => (asObject ? `"k${i} 1e999": ${item.text}` : item.text));
        const text = asObject ? `{ ${parts.join(",\n ")} }` : `[${parts.join(", ")}]`;
        JSON.parse(text); // the precondition: text JSON.parse accepts
        expect(inexactNumber(text)).toBe(items.find((item) => item.kind === "bad")?.text);
      }),
      { numRuns: 500 },
    );
  });
});

// --- both on a 1 MiB document ------------------------------------------------------

describe("both checks on a 1 MiB document", () => {
  it("are correct on a realistic config of ~1 MiB, with one bad number near the end", () => {
    const entries: string[] = [];
    let length = 0;
    for (let i = 0; length < MiB; i++) {
      const entry = `{"id": ${i}, "name": "sensor \\"${i}\\" é ${2 ** 60}", "gain": ${(i * 0.1).toFixed(3)}, "t": [${i / 7}, -${i}e-3, 1E2], "on": ${i % 2 === 0}, "x": null}`;
      entries.push(entry);
      length += entry.length + 2;
    }
    const good = `{"devices": [${entries.join(", ")}], "1e400": "9007199254740993"}`;
    expect(good.length).toBeGreaterThan(MiB);
    expect(inexactNumber(good)).toBeUndefined();

    const parsed: unknown = JSON.parse(good);
    const stored = storedBytes(parsed);
    expect(indentedJsonSize(parsed, Number.POSITIVE_INFINITY)).toBe(stored);
    expect(indentedJsonSize(parsed, stored)).toBe(stored);
    expect(indentedJsonSize(parsed, stored - 1)).toBeGreaterThan(stored - 1);

    const bad = good.replace(/, "x": null}\], "1e400"/, ', "x": 12345678901234567890}], "1e400"');
    expect(bad).not.toBe(good);
    expect(inexactNumber(bad)).toBe("12345678901234567890");
  });
});
