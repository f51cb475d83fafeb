/**
 * README, Troubleshooting, "A command is not found after an upgrade": npm's npx keeps a
 * project's own commands from its first run in that folder (npm/cli#9766), and the README's
 * block clears that. Reproduced on a two-command project of its own in a temporary folder, with
 * an npm cache of its own (the machine's cache is never touched): the first command run, a
 * second command added, npx says "not found"; after the block as written, it runs.
 */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start } from "./support/cli-run.js";
import { readDoc } from "./support/markdown.js";

const block = async (marker: string) => {
  const match = new RegExp(`<!-- readme-test: ${marker} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(
    await readDoc("README.md"),
  );
  if (!match?.[1]) throw new Error(`README block ${marker} not found`);
  return match[1];
};

describe("README: a command not found after an upgrade", () => {
  let dir: string;
  let env: Record<string, string>;
  const manifest = (bins: string[]) =>
    JSON.stringify({
      name: "npx-cache-probe",
      version: "1.0.0",
      bin: Object.fromEntries(bins.map((b) => [b, `${b}.js`])),
    });
  const sh = (script: string) => start("bash", ["-euo", "pipefail", "-c", script], env, dir).finished;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "iot-test-npx-cache-"));
    env = { npm_config_cache: join(dir, ".npm"), npm_config_update_notifier: "false" };
    for (const bin of ["first-cmd", "second-cmd"]) {
      await writeFile(join(dir, `${bin}.js`), `#!/usr/bin/env node\nconsole.log("${bin} ran");\n`);
      await chmod(join(dir, `${bin}.js`), 0o755);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reproduces npm's stale command list, and the block as written clears it", async () => {
    await writeFile(join(dir, "package.json"), manifest(["first-cmd"]));
    const first = await sh("npx first-cmd");
    expect(first.stdout.trim(), first.stderr).toBe("first-cmd ran");

    await writeFile(join(dir, "package.json"), manifest(["first-cmd", "second-cmd"]));
    const stale = await sh("npx second-cmd");
    // When npm fixes npm/cli#9766 this fails: the README's section is then for old npm only and says so.
    expect(stale.code, "npx found the new command: npm/cli#9766 is fixed in this npm; update README").toBe(127);
    expect(stale.stderr).toMatch(/second-cmd: not found/);

    const cleared = await sh(await block("npx-cache"));
    expect(cleared.code, cleared.stderr).toBe(0);
    const after = await sh("npx second-cmd");
    expect(after.stdout.trim(), after.stderr).toBe("second-cmd ran");
  });
});
