/** How the read benchmarks start the server on each runtime: the way its users do. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT } from "./server.js";

export const BIN = join(ROOT, "node_modules/.bin");
export const DENO = join(BIN, "deno");
export const BUN = join(BIN, "bun");
export const NODE_SERVER = [process.execPath, "dist/node.mjs"];
export const BUN_SERVER = [BUN, "src/runtimes/bun.ts"];

/** `npm run start:deno`'s command line, from package.json, so the figure is of what users run. */
export async function denoServerCommand(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  const script = pkg.scripts["start:deno"] ?? "";
  const [program, ...args] = script.replace(/^exec /, "").split(/\s+/);
  if (program !== "deno") throw new Error(`start:deno does not start deno: ${script}`);
  return [DENO, ...args];
}
