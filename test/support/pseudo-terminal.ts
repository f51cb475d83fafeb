/**
 * For CLI tests: a command run on a real pseudo-terminal (util-linux `script`, else Python's
 * pty; no native module), the frames a progress line redraws there, and a port nothing listens on.
 */
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";
import { type Running, start } from "./cli-run.js";

export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

const hasProgram = (name: string, versionArg: string) => {
  try {
    execFileSync(name, [versionArg], { stdio: "ignore" });
    return true;
  } catch {
    // Not installed (or not runnable): the caller tries the next way.
    return false;
  }
};

/** Runs a shell command line on a pseudo-terminal; its stdout holds everything the terminal showed. */
export function onPseudoTerminal(commandLine: string): Running {
  if (hasProgram("script", "--version"))
    return start("script", ["-qfec", commandLine, "/dev/null"], { SHELL: "/bin/sh" });
  if (hasProgram("python3", "--version")) {
    const py = "import pty, sys; sys.exit(pty.spawn(['/bin/sh', '-c', sys.argv[1]]) >> 8)";
    return start("python3", ["-c", py, commandLine]);
  }
  throw new Error("neither util-linux `script` nor python3 is installed: cannot run the command on a pseudo-terminal");
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI control sequences are what is removed
const ANSI_SEQUENCE = /\u001b\[[0-9;]*[A-Za-z]/g;

/**
 * What a terminal showed of each redraw of a line that starts with `label` and a bar: the
 * text between carriage returns, without ANSI sequences, as wide as it looks on screen.
 */
export function progressFrames(terminal: string, label: string): string[] {
  return terminal
    .split("\r")
    .map((piece) => piece.replace(ANSI_SEQUENCE, ""))
    .filter((frame) => frame.startsWith(`${label} [`));
}

/** A port on which nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}
