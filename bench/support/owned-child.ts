/**
 * A process a benchmark starts and owns: its output collected for error messages, and a
 * hook that stops it (and removes its folder) if the benchmark process exits first, so a
 * benchmark that dies never leaves a server or nginx running.
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { rmSync } from "node:fs";

export interface OwnedChild {
  child: ChildProcess;
  output(): string;
  exited: Promise<void>;
}

export function spawnOwned(
  command: string,
  args: string[],
  options: SpawnOptions,
  onParentExit: { signal: NodeJS.Signals; removeDir: string },
): OwnedChild {
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  const stop = () => {
    child.kill(onParentExit.signal);
    rmSync(onParentExit.removeDir, { recursive: true, force: true });
  };
  process.once("exit", stop);
  child.once("exit", () => process.off("exit", stop));
  return { child, output: () => out, exited };
}
