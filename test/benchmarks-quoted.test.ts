/**
 * README quotes benchmark figures only from BENCHMARKS.md (issue 21, finding 8): every
 * "N×" figure in a README paragraph that mentions BENCHMARKS.md must appear in
 * BENCHMARKS.md as written, so a figure from an old run (0.48× was one) cannot linger.
 * BENCHMARKS.md is whatever `npm run bench` last wrote; README quotes what it holds
 * (goals are stable across runs, measured values are not).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/server.js";

/** "0.6×", "1.05×": a number written against its ×. "2 × the tolerance" (spaced) is arithmetic, not a ratio. */
function ratioFigures(text: string): string[] {
  return [...text.matchAll(/(?<![\d.])(\d+(?:\.\d+)?)×/g)].map((m) => `${m[1]}×`);
}

/** Paragraphs (blank-line separated) of README that mention BENCHMARKS.md, and the ratios each quotes. */
function quotedFigures(readme: string): Array<{ paragraph: string; figures: string[] }> {
  return readme
    .split(/\n\s*\n/)
    .filter((p) => p.includes("BENCHMARKS.md"))
    .map((paragraph) => ({ paragraph, figures: ratioFigures(paragraph) }));
}

const read = (name: string) => readFile(join(ROOT, name), "utf8");

describe("README figures quoted from BENCHMARKS.md", () => {
  it("finds a ratio next to a BENCHMARKS.md mention, and not a spaced product", () => {
    const quoted = quotedFigures("intro\n\nraises it (0.48× → 0.71×; see\nBENCHMARKS.md)\n\nafter 2 × the tolerance");
    expect(quoted).toEqual([
      { paragraph: "raises it (0.48× → 0.71×; see\nBENCHMARKS.md)", figures: ["0.48×", "0.71×"] },
    ]);
  });

  it("every ×-figure README quotes beside BENCHMARKS.md is in BENCHMARKS.md", async () => {
    const [readme, benchmarks] = await Promise.all([read("README.md"), read("BENCHMARKS.md")]);
    const quoted = quotedFigures(readme).flatMap(({ paragraph, figures }) =>
      figures.map((figure) => ({ figure, where: paragraph.slice(0, 120) })),
    );
    // README does quote some (the read goals): an empty list would mean this test checks nothing.
    expect(quoted.length).toBeGreaterThan(0);
    const missing = quoted.filter(({ figure }) => !benchmarks.includes(figure));
    expect(missing).toEqual([]);
  });

  it("names the benchmarks' tools: wrk and nginx from apt, Deno and Bun from npm", async () => {
    const readme = await read("README.md");
    const tools = readme.split(/\n\s*\n/).find((p) => p.includes("The benchmarks need"));
    expect(tools).toBeDefined();
    for (const word of ["wrk", "nginx", "apt", "Deno", "Bun", "npm"]) expect(tools).toContain(word);
  });
});
