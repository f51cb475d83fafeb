/**
 * The size of a config as it will be stored — `JSON.stringify(value, null, 2)` in
 * UTF-8 — computed without building it. Indentation grows with depth, so a small
 * body of nested arrays can stringify to many times its size; the walk stops as
 * soon as the running total passes the limit, so its cost is bounded by the limit
 * and not by the would-be output. The walk is iterative because JSON.parse accepts
 * nesting far deeper than the call stack allows.
 */

/**
 * UTF-8 byte length of a string as `TextEncoder` writes it: a surrogate pair is 4
 * bytes and a lone surrogate becomes U+FFFD (3 bytes).
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/**
 * UTF-8 byte length of `JSON.stringify(text)`, quotes included. Stops counting once
 * the length exceeds `budget` and returns what it has, which is then > budget.
 */
export function jsonStringLength(text: string, budget = Number.POSITIVE_INFINITY): number {
  let bytes = 2;
  for (let i = 0; i < text.length && bytes <= budget; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c < 0x80) {
      // `\"` and `\\` are escaped; everything else printable stays raw, DEL (0x7f) included.
      bytes += c === 0x22 || c === 0x5c ? 2 : 1;
    } else if (c < 0x20) {
      // \b \t \n \f \r have short escapes; the other control characters are written \u00XX.
      bytes += c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6;
    } else if (c < 0x800) {
      bytes += 2;
    } else if (c < 0xd800 || c > 0xdfff) {
      bytes += 3;
    } else if (c <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else {
      // A lone surrogate is written as the escape \udXXX (well-formed stringify, ES2019).
      bytes += 6;
    }
  }
  return bytes;
}

/** An array or object whose members are still being counted. */
interface Frame {
  readonly container: object;
  /** Own enumerable string keys for an object, undefined for an array. */
  readonly keys: readonly string[] | undefined;
  /** How many members there are to look at (array length or number of keys). */
  readonly length: number;
  /** Nesting level of the container itself: its closing bracket is indented by 2 × depth. */
  readonly depth: number;
  next: number;
  written: number;
}

/** Values that stringify leaves out of an object and writes as `null` in an array. */
const isSkipped = (v: unknown) => v === undefined || typeof v === "function" || typeof v === "symbol";

/**
 * Exact UTF-8 byte length of `JSON.stringify(value, null, 2)` for a value that
 * `JSON.parse` produced (plain objects, arrays, strings, numbers, booleans, null),
 * or some number greater than `limit` as soon as the total exceeds it.
 *
 * Beyond JSON.parse's output it follows stringify for `undefined`, functions and
 * symbols (left out of objects, `null` in arrays, 0 for the whole value since
 * stringify then writes nothing), non-finite numbers (`null`) and BigInt (throws
 * TypeError). It does not call `toJSON` nor unbox `new Number()` and friends.
 * A cyclic value, which stringify refuses with a TypeError, returns > limit (never
 * pass an infinite limit with one). Unlike stringify, which V8 implements
 * recursively and which throws RangeError past a few thousand levels, any depth
 * is fine here.
 */
export function indentedJsonSize(value: unknown, limit: number): number {
  const stack: Frame[] = [];
  let total = 0;

  /** Counts a scalar (String(n) is ASCII, so its length is its size), or opens a container for the loop. */
  const visit = (v: unknown, depth: number): void => {
    if (v === null) total += 4;
    else if (typeof v === "string") total += jsonStringLength(v, limit - total);
    else if (typeof v === "number") total += Number.isFinite(v) ? String(v).length : 4;
    else if (typeof v === "boolean") total += v ? 4 : 5;
    else if (typeof v === "bigint") throw new TypeError("Do not know how to serialize a BigInt");
    else if (typeof v === "object") {
      if (Array.isArray(v)) stack.push({ container: v, keys: undefined, length: v.length, depth, next: 0, written: 0 });
      else {
        const keys = Object.keys(v); // own enumerable string keys, in stringify's order (own `__proto__` included)
        stack.push({ container: v, keys, length: keys.length, depth, next: 0, written: 0 });
      }
    } else total += 4; // undefined, function or symbol as an array member: `null`
  };

  if (isSkipped(value)) return 0;
  visit(value, 0);
  while (total <= limit) {
    const frame = stack[stack.length - 1];
    if (frame === undefined) break;
    if (frame.next === frame.length) {
      // `[]` / `{}` when nothing was written, else a newline, the indent and the bracket.
      total += frame.written === 0 ? 2 : 2 + 2 * frame.depth;
      stack.pop();
      continue;
    }
    const index = frame.next++;
    const indent = 2 * (frame.depth + 1);
    if (frame.keys === undefined) {
      // `[\n` before the first member, `,\n` before the others: 2 bytes either way.
      total += 2 + indent;
      frame.written++;
      visit((frame.container as readonly unknown[])[index], frame.depth + 1);
    } else {
      const key = frame.keys[index] as string;
      const member = (frame.container as Record<string, unknown>)[key];
      if (isSkipped(member)) continue;
      total += 2 + indent + jsonStringLength(key, limit - total) + 2; // `"key": `
      frame.written++;
      visit(member, frame.depth + 1);
    }
  }
  return total;
}
