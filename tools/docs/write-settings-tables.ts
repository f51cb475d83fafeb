/**
 * `npm run docs:settings`: rewrites every generated settings table (settings-targets.ts)
 * from the declarations, and says which files changed.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { withGeneratedBlock } from "./settings-tables.js";
import { SETTINGS_TARGETS } from "./settings-targets.js";

const ROOT = join(import.meta.dirname, "../..");

for (const target of SETTINGS_TARGETS) {
  const path = join(ROOT, target.file);
  const before = await readFile(path, "utf8");
  const after = withGeneratedBlock(before, target.block, target.content());
  if (after === before) continue;
  await writeFile(path, after);
  process.stdout.write(`${target.file}: table "${target.block}" rewritten\n`);
}
