/**
 * Generators and oracle for the config-limit fuzz test: PUT bodies written as JSON text by
 * hand (so number tokens reach the server exactly as spelled: 1e400, 12345678901234567890,
 * 1.50), each with the list of number tokens in it, shaped to land on every side of
 * MAX_CONFIG_BYTES as sent and as stored; and the contract's rules as an oracle, written from its
 * words rather than from the server's json-numbers.ts and json-size.ts.
 */
import fc from "fast-check";
import { MAX_CONTENT_DEPTH } from "../../src/features/configs/schemas.js";

const enc = new TextEncoder();

// --- the exact-number oracle -----------------------------------------------------------

/** A decimal as sign × 0.DIGITS × 10^point, DIGITS without leading or trailing zeros ("" for zero). */
function decimal(text: string): { negative: boolean; digits: string; point: bigint } {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match) throw new Error(`not a decimal: ${text}`);
  const [, sign, int = "", frac = "", exp = "0"] = match;
  const all = int + frac;
  const lead = all.length - all.replace(/^0+/, "").length;
  const digits = all.slice(lead).replace(/0+$/, "");
  // A BigInt exponent: "1e99999999999999999999" must not lose its value on the way.
  return { negative: sign === "-", digits, point: BigInt(exp) + BigInt(int.length - lead) };
}

/**
 * The contract: "numbers that JSON cannot hold exactly as a double (1e400, integers beyond 2^53)
 * are 400". A token is held exactly when it parses to a finite double whose shortest
 * round-trip form (String(n)) denotes the same decimal value; only the spelling may differ.
 */
export function heldExactlyOracle(token: string): boolean {
  const n = Number(token);
  if (!Number.isFinite(n)) return false;
  const sent = decimal(token);
  const held = decimal(String(n));
  if (sent.digits === "" || held.digits === "") return sent.digits === held.digits; // zero, or an underflow to it
  return sent.negative === held.negative && sent.digits === held.digits && sent.point === held.point;
}

// --- JSON text generators: the text exactly as sent, and every number token in it -------------

export interface JsonText {
  text: string;
  numbers: string[];
}
const join2 = (open: string, items: JsonText[], close: string, sep = ","): JsonText => ({
  text: `${open}${items.map((i) => i.text).join(sep)}${close}`,
  numbers: items.flatMap((i) => i.numbers),
});

const digits = (minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789"), minLength, maxLength });
const nonZero = fc.constantFrom(..."123456789");
/** Number tokens of every kind: small, past 2^53, long fractions, exponents near and past the double's range. */
const numberToken: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom("", "-"),
      fc.oneof(
        fc.constant("0"),
        fc.tuple(nonZero, digits(0, 4)).map(([a, b]) => a + b),
        fc.tuple(nonZero, digits(14, 40)).map(([a, b]) => a + b),
      ),
      fc.option(
        digits(1, 25).map((d) => `.${d}`),
        { nil: "" },
      ),
      fc.option(
        fc
          .tuple(
            fc.constantFrom("e", "E"),
            fc.constantFrom("", "+", "-"),
            fc.oneof(
              fc.integer({ min: 0, max: 25 }).map(String),
              fc.integer({ min: 290, max: 330 }).map(String),
              fc.constantFrom("400", "00001", "99999", "12345678901234567890"),
            ),
          )
          .map((parts) => parts.join("")),
        { nil: "" },
      ),
    )
    .map((parts) => parts.join("")),
  fc.constantFrom(
    ...[
      "1e400",
      "-1e400",
      "1e-400",
      "12345678901234567890",
      "9007199254740992",
      "9007199254740993",
      "-9007199254740993",
    ],
    ...["0.1", "1.50", "1E2", "0.0", "-0", "5e-324", "2e-324", "4.9406564584124654e-324", "0.30000000000000004"],
    ...["0.3000000000000000444", "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308"],
    ...["123456789012345680000", "1e22", "1e23", "100000000000000000000000", "0.000001", "1e-7"],
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
);
const number: fc.Arbitrary<JsonText> = numberToken.map((token) => ({ text: token, numbers: [token] }));

/** Every non-ASCII code unit as \uXXXX: sent up to six times larger than it is stored. */
const asciiOnly = (s: string) =>
  JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
const stringText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "binary", maxLength: 16 }).map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }).map(asciiOnly) },
  // Long: control characters and quotes grow when escaped, multi-byte characters take 2 to 4 bytes.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.string({ unit: "binary", minLength: 1, maxLength: 3 }), fc.integer({ min: 20, max: 300 }))
      .map(([s, n]) => JSON.stringify(s.repeat(n))),
  },
  { weight: 1, arbitrary: fc.constantFrom('"\\ud800 lone"', '"\\udfff"', '"\\u0000\\u001f"', '"\\"\\\\"') },
);
const string: fc.Arbitrary<JsonText> = stringText.map((text) => ({ text, numbers: [] }));
const scalar: fc.Arbitrary<JsonText> = fc.oneof(
  { weight: 4, arbitrary: number },
  { weight: 3, arbitrary: string },
  { weight: 1, arbitrary: fc.constantFrom("true", "false", "null").map((text) => ({ text, numbers: [] })) },
);
const keyText = fc
  .oneof(
    fc.string({ unit: "binary", maxLength: 8 }),
    fc.constantFrom("__proto__", "constructor", "deviceName", "enableOTA", "a"),
  )
  .map((k) => JSON.stringify(k));

const { value } = fc.letrec<{ value: JsonText; array: JsonText; object: JsonText }>((tie) => ({
  value: fc.oneof({ maxDepth: 3, depthIdentifier: "json" }, scalar, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 5, depthIdentifier: "json" }).map((items) => join2("[", items, "]")),
  object: fc.array(fc.tuple(keyText, tie("value")), { maxLength: 5, depthIdentifier: "json" }).map((entries) =>
    join2(
      "{",
      entries.map(([k, v]) => ({ text: `${k}:${v.text}`, numbers: v.numbers })),
      "}",
    ),
  ),
}));
/** Arrays or objects nested around a value, to either side of MAX_CONTENT_DEPTH and of the stored size. */
const deep: fc.Arbitrary<JsonText> = fc
  .record({ depth: fc.integer({ min: 1, max: 100 }), objects: fc.boolean(), inner: fc.oneof(scalar, value) })
  .map(({ depth, objects, inner }) => ({
    text: objects
      ? `${'{"k":'.repeat(depth)}${inner.text}${"}".repeat(depth)}`
      : `${"[".repeat(depth)}${inner.text}${"]".repeat(depth)}`,
    numbers: inner.numbers,
  }));
/** Many small members: each costs a few bytes as sent and a line of indentation as stored. */
const smallScalar: fc.Arbitrary<JsonText> = fc.oneof(
  fc.constantFrom("0", "1", "-1", "1e400", "true", "null", '""', '"ab"').map((text) => ({
    text,
    numbers: /^-?\d/.test(text) ? [text] : [],
  })),
  fc.integer({ min: -999, max: 999 }).map((n) => ({ text: String(n), numbers: [String(n)] })),
);
const wide: fc.Arbitrary<JsonText> = fc.tuple(smallScalar, fc.integer({ min: 0, max: 900 })).map(([item, n]) =>
  join2(
    "[",
    Array.from({ length: n }, () => item),
    "]",
  ),
);
const member = fc.oneof(
  { weight: 3, arbitrary: value },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: wide },
);
const objectOf = (members: fc.Arbitrary<JsonText>) =>
  fc.array(fc.tuple(keyText, members), { maxLength: 5 }).map((entries) =>
    join2(
      "{",
      entries.map(([k, v]) => ({ text: `${k}:${v.text}`, numbers: v.numbers })),
      "}",
    ),
  );

const utf8Length = (text: string) => enc.encode(text).length;
/**
 * Content padded to within a few bytes of the limit as stored, on either side of it and on
 * it: first by an array of zeros (seven bytes each as stored, two as sent, so the body as
 * sent stays well under the limit), then by a string of characters of one to four bytes,
 * or of escapes of two and six.
 */
const nearLimit = (max: number): fc.Arbitrary<JsonText> =>
  fc
    .record({
      base: objectOf(fc.oneof(scalar, value)),
      delta: fc.integer({ min: -4, max: 4 }),
      unit: fc.constantFrom("a", "\u00e9", "\u20ac", "\u{1F600}", "\n", "\u0001"),
      slack: fc.integer({ min: 0, max: 300 }),
    })
    .map(({ base, delta, unit, slack }) => {
      const parsed = JSON.parse(base.text) as Record<string, unknown>;
      const stored = (text: string, zeros: number) =>
        utf8Length(JSON.stringify({ "pad-text": text, "pad-zeros": new Array(zeros).fill(0), ...parsed }, null, 2));
      const zeros = Math.max(0, Math.floor((max - slack - stored("", 0)) / 7));
      const room = max + delta - stored("", zeros);
      const text = unit.repeat(Math.max(0, Math.floor(room / (utf8Length(JSON.stringify(unit)) - 2))));
      const pad = `"pad-text":${JSON.stringify(text)},"pad-zeros":[${new Array(zeros).fill(0).join(",")}]`;
      return { text: base.text === "{}" ? `{${pad}}` : `{${pad},${base.text.slice(1)}`, numbers: base.numbers };
    });
const content = (max: number): fc.Arbitrary<JsonText> =>
  fc.oneof(
    { weight: 6, arbitrary: objectOf(member) },
    { weight: 3, arbitrary: nearLimit(max) },
    { weight: 1, arbitrary: value },
  );
/** A PUT body for one of three MACs, sometimes with its length declared, sometimes padded with spaces. */
export const limitedPutBody = (max: number) =>
  fc
    .record({
      content: content(max),
      allow: fc.constantFrom("", ',"allow_overwrite":true'),
      // Padding makes the body large as sent while it stays small as stored.
      padding: fc.oneof(
        { weight: 8, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 2100 }) },
      ),
      declareLength: fc.boolean(),
      mac: fc.constantFrom("aa-bb-cc-00-00-01", "aa-bb-cc-00-00-02", "aa-bb-cc-00-00-03"),
    })
    .map(({ content, allow, padding, declareLength, mac }) => ({
      text: `{"content":${content.text}${allow}}${" ".repeat(padding)}`,
      numbers: content.numbers,
      declareLength,
      mac,
    }));

/** Levels of arrays and objects (the content object itself is level 1), without recursion. */
function depthOf(root: unknown): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[root, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== "object" || item === null) continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/** What the server must answer; `why` names the rule, and is what the figures count. */
export type Expected = { status: 413 | 400; why: string } | { status: 200; why: string; stored: string };

/** The contract's rules for a PUT body, in the order a server must apply them to answer the right one. */
export function configOracle(body: { text: string; numbers: string[] }, max: number): Expected {
  const bytes = enc.encode(body.text).length;
  if (bytes > max) return { status: 413, why: "sent" };
  if (!body.numbers.every(heldExactlyOracle)) return { status: 400, why: "inexact number" };
  const parsed = JSON.parse(body.text) as { content: unknown };
  const c = parsed.content;
  if (typeof c !== "object" || c === null || Array.isArray(c)) return { status: 400, why: "content not an object" };
  if (depthOf(c) > MAX_CONTENT_DEPTH) return { status: 400, why: "too deep" };
  const stored = JSON.stringify(c, null, 2);
  const size = utf8Length(stored);
  // Within 8 bytes of the limit is where an off-by-one in the size rule would show.
  const near = Math.abs(size - max) <= 8 ? " near the limit" : "";
  return size > max ? { status: 413, why: `stored${near}` } : { status: 200, why: `accepted${near}`, stored };
}
