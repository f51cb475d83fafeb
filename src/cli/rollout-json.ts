/**
 * --json output that is safe on a terminal and still the same data: JSON.stringify escapes
 * C0 controls but leaves C1 controls, bidi overrides and separators raw, which a terminal
 * may obey; each is written as a \u escape here, which any JSON parser reads back unchanged.
 */
import { UNSAFE } from "./terminal-text.js";

const UNSAFE_ALL = new RegExp(UNSAFE.source, "gu");

const escaped = (char: string) =>
  // Outside the BMP (e.g. U+E0001, a tag character) JSON escapes each UTF-16 half.
  [...Array(char.length).keys()].map((i) => `\\u${char.charCodeAt(i).toString(16).padStart(4, "0")}`).join("");

/** One JSON value on one line, ending in a line break. */
export const jsonLine = (value: unknown): string => `${JSON.stringify(value).replace(UNSAFE_ALL, escaped)}\n`;
