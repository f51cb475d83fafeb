/**
 * The container path's files as a container engine would read them: the Dockerfile's runtime
 * stage (its last FROM onwards), compose.yaml (parsed by `yaml`, a devDependency of its own so
 * that it does not depend on what other packages happen to pull in), and env files (`NAME=value` lines).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { ROOT } from "./server.js";

export interface RuntimeStage {
  env: Record<string, string>;
  user: string;
  workdir: string;
  volumes: string[];
  exposed: number[];
  cmd: string[];
}

/** The instructions of the Dockerfile's last stage, the one the image runs. */
export async function runtimeStage(): Promise<RuntimeStage> {
  const text = await readFile(join(ROOT, "Dockerfile"), "utf8");
  const stage = text.slice(text.lastIndexOf("\nFROM "));
  const all = (instruction: string) =>
    [...stage.matchAll(new RegExp(`^${instruction} (.*)$`, "gm"))].map((m) => (m[1] as string).trim());
  const env = Object.fromEntries(
    all("ENV").flatMap((line) => [...line.matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1], m[2]])),
  );
  return {
    env,
    user: all("USER").at(-1) ?? "root",
    workdir: all("WORKDIR").at(-1) ?? "/",
    volumes: all("VOLUME").flatMap((line) => line.split(/\s+/)),
    exposed: all("EXPOSE").flatMap((line) => line.split(/\s+/).map(Number)),
    cmd: JSON.parse(all("CMD").at(-1) ?? "[]") as string[],
  };
}

/** `NAME=value` lines; comments and blank lines skipped, as `docker run --env-file` reads them. */
export async function envFile(path: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const line of (await readFile(join(ROOT, path), "utf8")).split("\n")) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1] as string] = match[2] as string;
  }
  return env;
}

export interface ComposeService {
  build?: string;
  image?: string;
  env_file?: string;
  ports?: string[];
  volumes?: string[];
  secrets?: string[];
}

export interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file: string }>;
}

export async function compose(): Promise<Compose> {
  return parse(await readFile(join(ROOT, "compose.yaml"), "utf8")) as Compose;
}

/** A compose volume entry `source:target[:mode]` split up; a named volume's source has no slash. */
export function mount(entry: string): { source: string; target: string; named: boolean; readOnly: boolean } {
  const [source = "", target = "", mode] = entry.split(":");
  return { source, target, named: !source.includes("/"), readOnly: mode === "ro" };
}

/** Compose mounts a service's secret `name` here. */
export const secretPath = (name: string) => `/run/secrets/${name}`;
