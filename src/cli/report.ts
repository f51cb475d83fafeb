/**
 * How every command reports a failure on stderr: a usage error with the usage text, a typed
 * CliError with its notes, anything else as the bug it is. Text we did not write ourselves
 * (a server's words, a URL, a file name, a message from the network stack) passes `shown`
 * on its way out: terminal controls escaped, credentials in URLs hidden.
 */
import { EXIT, isCliError } from "./errors.js";
import { redactCredentials } from "./redact.js";
import { forTerminal } from "./terminal-text.js";

export const shown = (text: string) => forTerminal(redactCredentials(text));

/** Prints a failure of the command `name` and returns its exit status. */
export function reportFailure(name: string, error: unknown, stderr: (text: string) => void): number {
  if (!isCliError(error)) {
    // A bug, not a situation we foresaw: show everything that helps find it.
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    stderr(`${name}: unexpected error: ${detail.split("\n").map(shown).join("\n")}\n`);
    return EXIT.USAGE;
  }
  stderr(`${name}: ${shown(error.message)}\n${error.notes.map((n) => `  ${shown(n)}\n`).join("")}`);
  return error.exitCode;
}

/** A command line that could not be parsed: the reason, then the usage text. Anything else is rethrown. */
export function reportUsage(name: string, error: unknown, usage: string, stderr: (text: string) => void): number {
  if (!isCliError(error)) throw error;
  stderr(`${name}: ${shown(error.message)}\n\n${usage}`);
  return error.exitCode;
}
