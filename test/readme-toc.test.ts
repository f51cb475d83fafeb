/**
 * The README's table of contents and links, kept true: the contents list every `##` and `###`
 * heading, in order, with the anchor the code host makes for it, and every link of the README
 * leads to a file or heading that exists.
 */
import { describe, expect, it } from "vitest";
import { brokenLinks, headings, readDoc } from "./support/markdown.js";

const readme = await readDoc("README.md");

/** The contents as [level, text, anchor], read from the list between the toc markers. */
function contents(text: string): [number, string, string][] {
  const block = /<!-- toc:[^\n]*-->\n([\s\S]*?)<!-- \/toc -->/.exec(text)?.[1];
  if (block === undefined) throw new Error("README has no <!-- toc: … --> … <!-- /toc --> block");
  return block
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const entry = /^( *)- \[(.+)\]\(#([^)]+)\)$/.exec(line);
      if (!entry) throw new Error(`not a contents entry: ${line}`);
      return [2 + (entry[1] as string).length / 2, entry[2] as string, entry[3] as string];
    });
}

describe("README table of contents", () => {
  it("lists every ## and ### heading after it, in order, with its anchor", () => {
    const expected = headings(readme)
      .filter((h) => (h.level === 2 || h.level === 3) && h.text !== "Contents")
      .map((h): [number, string, string] => [h.level, h.text, h.anchor]);
    expect(expected.length).toBeGreaterThan(20);
    expect(contents(readme)).toEqual(expected);
  });

  it("has links that all resolve (files, and anchors in this page or another Markdown page)", async () => {
    expect(await brokenLinks("README.md")).toEqual([]);
  });
});
