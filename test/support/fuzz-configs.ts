/**
 * Generators and oracle for the configs fuzz tests: MAC path segments (meant literally, or raw
 * path text with dot segments and broken escapes) and PUT bodies (JSON built by hand,
 * so `__proto__` and duplicate keys reach the server as written, plus damaged bytes).
 */
import fc from "fast-check";
import { MAX_CONTENT_DEPTH } from "../../src/features/configs/schemas.js";
import { concatBytes } from "./fuzz-helpers.js";

const enc = new TextEncoder();

const hexPair = fc.integer({ min: 0, max: 255 }).map((n) => n.toString(16).padStart(2, "0"));
const anyCase = (s: string) =>
  fc
    .array(fc.boolean(), { minLength: s.length, maxLength: s.length })
    .map((upper) => [...s].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(""));
export const macArb = fc
  .array(hexPair, { minLength: 6, maxLength: 6 })
  .map((pairs) => pairs.join("-"))
  .chain(anyCase);
/** A few fixed MACs, so GET and DELETE often meet a config that a PUT created. */
const pooledMac = fc.constantFrom("aa-bb-cc-dd-ee-ff", "de-ad-be-ef-00-01").chain(anyCase);
const nearMac = fc.oneof(
  macArb.map((m) => m.replace(/-/g, ":")),
  macArb.map((m) => m.replace(/-/g, "")),
  macArb.map((m) => `${m}.json`),
  macArb.map((m) => `${m}-00`),
  macArb.map((m) => m.slice(0, -3)),
  macArb.map((m) => ` ${m}`),
  macArb.map((m) => `${m}\u0000`),
  macArb.map((m) => m.replace(/a/gi, "\u0430")), // Cyrillic a
  macArb.map((m) => m.replace(/-/g, "\u2010")), // Unicode hyphen
);

/** Strings the client means literally: sent percent-encoded, so the route sees exactly them. */
const literalSegment = fc.oneof(
  { weight: 10, arbitrary: pooledMac },
  { weight: 1, arbitrary: macArb },
  { weight: 2, arbitrary: nearMac },
  { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 10 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 2000, maxLength: 6000 }) },
  { weight: 1, arbitrary: fc.constantFrom("..", ".", "/", "\\", "%2e%2e", "../configs/aa-bb-cc-dd-ee-ff", "\u0000") },
);

/** Raw path text, sent as is: dot segments, encoded separators and NUL, broken escapes. */
const rawSegment = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "..",
        ".",
        "/",
        "\\",
        "%2e%2e",
        "%2E%2e",
        ".%2e",
        "%2f",
        "%2F",
        "%5c",
        "%00",
        "%",
        "%zz",
        "%c0%af",
        "%ff",
        "%e2%80%ae",
        "%3f",
        "%23",
        "?",
        "#",
        ";",
        ":",
        " ",
        "%20",
        ".json",
        "\u0000",
        "\u00e9",
        "aa-bb-cc-dd-ee-ff",
        "AA-BB-CC-DD-EE-FF",
        "-",
      ),
      hexPair,
      fc.string({ maxLength: 4 }),
    ),
    { minLength: 1, maxLength: 10 },
  )
  .map((pieces) => pieces.join(""));

export const opArb = fc.record({
  method: fc.constantFrom("GET", "PUT", "DELETE"),
  target: fc.oneof(
    { weight: 4, arbitrary: literalSegment.map((value) => ({ literal: true as const, value })) },
    { weight: 2, arbitrary: rawSegment.map((value) => ({ literal: false as const, value })) },
  ),
});

const keyArb = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "__proto__",
      "constructor",
      "toString",
      "hasOwnProperty",
      "content",
      "allow_overwrite",
      "deviceName",
      "enableOTA",
    ),
  },
);
const valueText = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v));
/** JSON object text built by hand, so keys like `__proto__` and duplicate keys reach the server as written. */
const objectText = (values: fc.Arbitrary<string>) =>
  fc
    .array(fc.tuple(keyArb, values), { maxLength: 5 })
    .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`);
/** A value nested `depth` levels deep: JSON.stringify overflows the stack a few thousand levels down. */
const deepText = fc
  .record({
    depth: fc.oneof(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 8000 })),
    brackets: fc.constantFrom("[]", "{}"),
  })
  .map(({ depth, brackets }) =>
    brackets === "[]"
      ? `${"[".repeat(depth)}${"]".repeat(depth)}`
      : `${'{"a":'.repeat(depth - 1)}{}${"}".repeat(depth - 1)}`,
  );
const contentText = fc.oneof(
  { weight: 8, arbitrary: objectText(valueText) },
  { weight: 2, arbitrary: valueText },
  // Under "__proto__" too: zod drops that key from its copy, so a check made on the copy would miss it.
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("deep", "__proto__"), deepText).map(([k, v]) => `{"${k}":${v}}`) },
);
const putBodyText = fc
  .record({
    content: fc.option(contentText, { freq: 8 }),
    allow: fc.option(fc.oneof({ weight: 6, arbitrary: fc.constantFrom("true", "false") }, valueText), { freq: 2 }),
    extra: fc.array(fc.tuple(keyArb, valueText), { maxLength: 2 }),
    extraFirst: fc.boolean(),
  })
  .map(({ content, allow, extra, extraFirst }) => {
    const main: Array<[string, string]> = [];
    if (content !== null) main.push(["content", content]);
    if (allow !== null) main.push(["allow_overwrite", allow]);
    const entries = extraFirst ? [...extra, ...main] : [...main, ...extra];
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
  });

export const putBodyBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 6, arbitrary: putBodyText.map((s) => enc.encode(s)) },
  { weight: 2, arbitrary: valueText.map((s) => enc.encode(s)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(putBodyText, fc.double({ min: 0, max: 1, noNaN: true }))
      .map(([s, f]) => enc.encode(s.slice(0, Math.floor(s.length * f)))),
  },
  { weight: 1, arbitrary: putBodyText.map((s) => enc.encode(`\ufeff \n${s}\t`)) },
  {
    weight: 1,
    arbitrary: fc.tuple(putBodyText, fc.nat(), fc.integer({ min: 0x80, max: 0xff })).map(([s, at, byte]) => {
      const bytes = enc.encode(s);
      const i = at % (bytes.length + 1);
      return concatBytes([bytes.subarray(0, i), new Uint8Array([byte]), bytes.subarray(i)]);
    }),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 60 }).map((s) => enc.encode(s)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 120 }) },
);

export const JSON_TYPES = ["application/json", "application/json; charset=utf-8", "Application/JSON"];
export const contentTypeArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...JSON_TYPES) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      undefined,
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
    ),
  },
);

/** Levels of arrays and objects in `value` (a scalar is 0), computed without recursion. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== "object" || item === null) continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return deepest;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A decimal number token as an exact rational m × 10^e (m a BigInt), for comparing values, not spellings. */
function decimalValue(token: string): { m: bigint; e: number } {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(token);
  if (!match) throw new Error(`not a number token: ${token}`);
  const [, sign, int, frac = "", exp = "0"] = match;
  const m = BigInt(`${sign}${int}${frac}`);
  return { m, e: Number(exp) - frac.length };
}

const sameValue = (a: string, b: string) => {
  const x = decimalValue(a);
  const y = decimalValue(b);
  const e = Math.min(x.e, y.e);
  return x.m * 10n ** BigInt(x.e - e) === y.m * 10n ** BigInt(y.e - e);
};

/** The contract: a number a double cannot hold as sent (1e400, integers past 2^53, too many digits) is refused. */
function numbersHeldExactly(text: string): boolean {
  const outsideStrings = text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const token of outsideStrings.match(/-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g) ?? []) {
    const n = Number(token);
    if (!Number.isFinite(n)) return false;
    // String(n) is the shortest text that reads back as n: the value the server would store.
    if (!sameValue(token, String(n))) return false;
  }
  return true;
}

/**
 * The contract's PUT body rule: UTF-8 (BOM dropped; invalid bytes refused), valid when the type is
 * JSON and the body an object whose `content` is an object (nested at most the server's
 * documented MAX_CONTENT_DEPTH levels) and whose `allow_overwrite`, if present, is a
 * boolean, with every number held exactly by a double.
 */
export function putOracle(bytes: Uint8Array, contentType: string | undefined) {
  let parsed: unknown;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    parsed = JSON.parse(text);
  } catch {
    return { valid: false as const };
  }
  if (!numbersHeldExactly(text)) return { valid: false as const };
  const valid =
    contentType !== undefined &&
    JSON_TYPES.includes(contentType) &&
    isPlainObject(parsed) &&
    Object.hasOwn(parsed, "content") &&
    isPlainObject(parsed.content) &&
    depthOf(parsed.content) <= MAX_CONTENT_DEPTH &&
    (!Object.hasOwn(parsed, "allow_overwrite") || typeof parsed.allow_overwrite === "boolean");
  if (!valid) return { valid: false as const };
  const body = parsed as { content: Record<string, unknown>; allow_overwrite?: boolean };
  return { valid: true as const, content: body.content, allowOverwrite: body.allow_overwrite ?? true };
}
