/**
 * Just enough Markdown for the docs tests: headings and their anchors as the code host
 * (GitHub) makes them, sections, links and the repository paths a page names. Fenced code
 * is left out everywhere, so a `# comment` in a bash block is never taken for a heading.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, normalize } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");

export const readDoc = (path: string) => readFile(join(ROOT, path), "utf8");

/** The page's lines outside fenced code blocks (``` or ~~~), with their line numbers. */
export function proseLines(text: string): { line: string; number: number }[] {
  const out: { line: string; number: number }[] = [];
  let fence: string | undefined;
  text.split("\n").forEach((line, index) => {
    const marker = /^ *(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      return;
    }
    if (fence === undefined) out.push({ line, number: index + 1 });
  });
  return out;
}

export interface Heading {
  level: number;
  text: string;
  anchor: string;
}

/** GitHub's anchor for a heading's text: lower case, punctuation dropped, spaces to hyphens. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, "")
    .replace(/ /g, "-");
}

/** Every ATX heading outside code, with its anchor (a repeated one gets -1, -2… as on GitHub). */
export function headings(text: string): Heading[] {
  const seen = new Map<string, number>();
  return proseLines(text).flatMap(({ line }) => {
    const match = /^(#{1,6}) +(.+?) *#* *$/.exec(line);
    if (!match) return [];
    const headingText = match[2] as string;
    const base = slug(headingText);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    return [{ level: (match[1] as string).length, text: headingText, anchor: count ? `${base}-${count}` : base }];
  });
}

/** The text from a `## title` heading to the next heading of level 2 or above (without either). */
export function section(text: string, title: string): string {
  const lines = text.split("\n");
  const start = lines.indexOf(`## ${title}`);
  if (start < 0) throw new Error(`no section "## ${title}"`);
  const end = lines.findIndex((line, i) => i > start && /^#{1,2} /.test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

/** Every inline link target `[text](target)` outside code. */
export function linkTargets(text: string): string[] {
  return proseLines(text).flatMap(({ line }) =>
    [...line.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string),
  );
}

/**
 * Links of the page at `path` that lead nowhere: a relative file that does not exist, or an
 * anchor (on the page or on another Markdown page) that no heading makes.
 */
export async function brokenLinks(path: string): Promise<string[]> {
  const text = await readDoc(path);
  const broken: string[] = [];
  for (const target of linkTargets(text)) {
    if (/^[a-z]+:/i.test(target)) continue; // https:, mailto: — not this repository's to check
    const [file, anchor] = target.split("#") as [string, string | undefined];
    const resolved = file ? normalize(join(dirname(path), file)) : path;
    if (!existsSync(join(ROOT, resolved))) {
      broken.push(target);
      continue;
    }
    if (anchor === undefined) continue;
    if (!resolved.endsWith(".md")) {
      broken.push(target);
      continue;
    }
    const anchors = headings(await readDoc(resolved)).map((h) => h.anchor);
    if (!anchors.includes(anchor)) broken.push(target);
  }
  return broken;
}

/** Repository paths the page names in code spans (`src/…`, `tools/…`, `test/…`, `deploy/…`…). */
export function namedPaths(text: string): string[] {
  const spans = proseLines(text).flatMap(({ line }) => [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string));
  const mermaid = [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const paths = [...spans, ...mermaid].flatMap((span) => [
    ...span.matchAll(/(?<![\w/.])((?:src|tools|test|bench|deploy|docs|bin)\/[\w./+-]*[\w/])/g),
  ]);
  return [...new Set(paths.map((m) => m[1] as string))];
}
