/** The machine and every tool version a run used, for the head of BENCHMARKS.md. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";
import { wrkVersion } from "./http-load.js";
import { ROOT } from "./server.js";

const BIN = join(ROOT, "node_modules/.bin");

/** The first line a command prints (stdout, else stderr: nginx -v and mosquitto -h use stderr), or why not. */
function firstLine(command: string, args: string[]): string {
  // mosquitto -h exits 3 and nginx -v writes to stderr: their output is still the version.
  const run = spawnSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") return "not installed";
  return `${run.stdout ?? ""}${run.stderr ?? ""}`.trim().split("\n")[0]?.trim() || "unknown";
}

function osName(): string {
  try {
    const text = readFileSync("/etc/os-release", "utf8");
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text)?.[1] ?? process.platform;
  } catch (error) {
    return `${process.platform} (${(error as Error).message})`;
  }
}

function packageVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version as string;
  } catch (error) {
    return `unknown (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
}

export function describeMachine(): Array<[string, string]> {
  const models = [...new Set(cpus().map((c) => c.model))].join(", ");
  return [
    ["CPU", `${cpus().length} × ${models}`],
    ["RAM", `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`],
    ["OS", `${osName()}, kernel ${release()}, ${process.arch}`],
    ["Node", process.version],
    ["Deno", firstLine(join(BIN, "deno"), ["--version"])],
    ["Bun", firstLine(join(BIN, "bun"), ["--version"])],
    ["wrangler / workerd", `${packageVersion("wrangler")} / ${packageVersion("workerd")}`],
    ["Mosquitto", firstLine("/usr/sbin/mosquitto", ["-h"])],
    ["nginx", firstLine("nginx", ["-v"])],
    ["wrk", wrkVersion() ?? "not installed"],
  ];
}
