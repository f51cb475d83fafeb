/**
 * Text from elsewhere (a server's answer, an error from the network stack) on its way
 * to a terminal. A terminal obeys what it is sent: ESC, CSI, OSC and the other C0/C1
 * controls can move the cursor, rewrite earlier lines, set the window title or write
 * to the clipboard, and bidirectional overrides make a name read as another. Each such
 * character is shown as a visible escape (`\x1b`, `\u202e`) instead, and text is cut
 * to a length that cannot flood the screen.
 */

/**
 * Controls (C0, DEL, C1), format characters (bidi embeddings, overrides and isolates,
 * zero-width characters), lone surrogates and the line and paragraph separators.
 */
export const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** Short server strings: a file name, an error code, a correlation id, a date. */
export const MAX_NAME_CHARS = 256;
/** A server's sentence: its error message or an HTTP reason phrase. */
export const MAX_MESSAGE_CHARS = 512;

/** One code point as a visible escape, e.g. ESC → `\x1b`, RIGHT-TO-LEFT OVERRIDE → `\u202e`. */
function visible(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * `text` with every unsafe character escaped, at most `maxChars` characters long
 * (escapes included) plus a note of how much was left out. Without `maxChars`, the
 * whole text (for our own messages, which may quote a long local path).
 */
export function forTerminal(text: string, maxChars = Number.POSITIVE_INFINITY): string {
  let shown = "";
  let used = 0;
  for (const char of text) {
    const piece = UNSAFE.test(char) ? visible(char) : char;
    if (shown.length + piece.length > maxChars) {
      const left = [...text.slice(used)].length;
      return `${shown}… (${left} more characters)`;
    }
    shown += piece;
    used += char.length;
  }
  return shown;
}
