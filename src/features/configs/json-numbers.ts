/**
 * Finds JSON numbers that a double cannot hold as sent. JSON.parse turns `1e400`
 * into Infinity (stored as `null`) and `12345678901234567890` into a neighbour
 * (stored as `12345678901234567000`) without complaint; storing either would alter
 * a device's config silently, so such configs are refused instead.
 *
 * A token is kept when it denotes the same decimal value as the shortest form that
 * round-trips its double (`String(n)`, which is also what stringify writes):
 * `1.50`, `1E2` and `0.0` are fine because only their spelling differs.
 */

const Char = {
  Quote: 0x22,
  Backslash: 0x5c,
  Plus: 0x2b,
  Minus: 0x2d,
  Dot: 0x2e,
  Zero: 0x30,
  Nine: 0x39,
  UpperE: 0x45,
  LowerE: 0x65,
} as const;

const isNumberChar = (c: number) =>
  (c >= Char.Zero && c <= Char.Nine) ||
  c === Char.Minus ||
  c === Char.Plus ||
  c === Char.Dot ||
  c === Char.LowerE ||
  c === Char.UpperE;

/**
 * The first number token of `jsonText` whose value a double cannot hold as sent,
 * or undefined when there is none. `jsonText` must be text JSON.parse accepted;
 * digits inside strings (keys included) are not numbers and are skipped.
 * Linear in the length of the text.
 */
export function inexactNumber(jsonText: string): string | undefined {
  const end = jsonText.length;
  let i = 0;
  while (i < end) {
    const c = jsonText.charCodeAt(i);
    if (c === Char.Quote) {
      // Skip the string; an escape's second character may be a quote or a backslash.
      i++;
      while (i < end) {
        const s = jsonText.charCodeAt(i);
        if (s === Char.Quote) break;
        i += s === Char.Backslash ? 2 : 1;
      }
      i++;
    } else if (c === Char.Minus || (c >= Char.Zero && c <= Char.Nine)) {
      const start = i;
      while (i < end && isNumberChar(jsonText.charCodeAt(i))) i++;
      const token = jsonText.slice(start, i);
      if (!heldExactly(token)) return token;
    } else i++;
  }
  return undefined;
}

/** Whether the double that `token` parses to denotes the token's decimal value. */
export function heldExactly(token: string): boolean {
  const n = Number(token);
  if (!Number.isFinite(n)) return false; // 1e400 → Infinity; NaN only for text JSON.parse would refuse
  const sent = decimalOf(token);
  if (n === 0) return sent.digits === ""; // 1e-400 underflows to 0; 0, -0 and 0.0e5 are fine
  const held = decimalOf(String(n));
  // Both are non-zero with the same sign (the parse keeps it), so digits and exponent decide.
  return sent.digits === held.digits && sent.exponent === held.exponent;
}

/**
 * A decimal as 0.DIGITS × 10^exponent, with no leading or trailing zeros in DIGITS
 * (empty for zero), ignoring the sign. Reads JSON numbers and `String(n)` output
 * (`1e+21`, `5e-324`).
 */
function decimalOf(text: string): { digits: string; exponent: number } {
  const start = text.charCodeAt(0) === Char.Minus ? 1 : 0;
  let pointAt = -1;
  let i = start;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === Char.Dot) pointAt = i;
    else if (c < Char.Zero || c > Char.Nine) break;
  }
  const integerDigits = (pointAt === -1 ? i : pointAt) - start;
  const mantissa = pointAt === -1 ? text.slice(start, i) : text.slice(start, pointAt) + text.slice(pointAt + 1, i);
  // Past e/E: an optional sign and digits. A huge exponent stays approximately right,
  // and only arises with a value that is 0 or non-finite, decided before this matters.
  const exponent = i < text.length ? Number(text.slice(i + 1)) : 0;

  let first = 0;
  while (first < mantissa.length && mantissa.charCodeAt(first) === Char.Zero) first++;
  let last = mantissa.length;
  while (last > first && mantissa.charCodeAt(last - 1) === Char.Zero) last--;
  return { digits: mantissa.slice(first, last), exponent: integerDigits - first + exponent };
}
