/**
 * The shape issue 17 gave the code, kept: src/core holds contracts and assembly only (at most
 * 2,500 lines), and no source file grows past 300 lines. A capability that needs room goes to
 * src/features/<capability>, a runtime-specific part to src/plugins or src/runtimes.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/server.js";

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(".ts")).map((e) => join(e.parentPath, e.name));
}
const lines = async (file: string) => (await readFile(file, "utf8")).split("\n").length - 1;

describe("the code's shape", () => {
  it("src/core is at most 2,500 lines", async () => {
    let total = 0;
    for (const file of await sources(join(ROOT, "src/core"))) total += await lines(file);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(2500);
  });

  it("no source file in src is over 300 lines", async () => {
    const long: string[] = [];
    for (const file of await sources(join(ROOT, "src"))) {
      const n = await lines(file);
      if (n > 300) long.push(`${relative(ROOT, file)}: ${n}`);
    }
    expect(long).toEqual([]);
  });
});
