/**
 * README's Troubleshooting quotes the server's and the commands' messages exactly, so a
 * reader can search for what they see. Each quoted message (the code spans of each table's
 * first column; `…` stands for a value filled in at run time) must be in one file of src/,
 * every literal piece of it in order, so a message reworded in the code fails here until
 * the README follows.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, readDoc, section } from "./support/markdown.js";

async function sourceTexts(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true });
  return Promise.all(
    entries
      .filter((e) => e.isFile() && e.name.endsWith(".ts"))
      .map((e) => readFile(join(e.parentPath, e.name), "utf8")),
  );
}

/** The code spans of the first cell of every table row (the header and rule rows left out). */
function quotedMessages(text: string): string[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("| ") && !/^\|[-| ]+\|$/.test(line))
    .map((line) => line.split(" | ")[0] as string)
    .filter((cell) => cell.includes("`"))
    .flatMap((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string));
}

/** True when a file holds every literal piece of the message, in order (`…` matches a value). */
const holds = (source: string, message: string) => {
  let from = 0;
  for (const piece of message.split("…")) {
    const at = source.indexOf(piece, from);
    if (at < 0) return false;
    from = at + piece.length;
  }
  return true;
};

const trouble = section(await readDoc("README.md"), "Troubleshooting");
const messages = quotedMessages(trouble);
const sources = await sourceTexts("src");

describe("README Troubleshooting", () => {
  it("quotes the messages for 421, 401, 403, uploads, SERVER_BUSY, STORAGE_FULL, the broker and the signing key", () => {
    for (const expected of [
      "ALLOWED_HOSTS",
      "Authentication required",
      "lacks the role",
      "Invalid signature",
      "Too many",
      "Storage is full",
      "MQTT connection error",
      "cannot read the key file",
    ]) {
      expect(
        messages.some((m) => m.includes(expected)),
        expected,
      ).toBe(true);
    }
  });

  it.each(messages)("quotes %j as src/ has it", (message) => {
    expect(message.replaceAll("…", "").trim().length).toBeGreaterThan(10);
    expect(sources.some((source) => holds(source, message))).toBe(true);
  });
});
