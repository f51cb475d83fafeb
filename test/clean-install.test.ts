/**
 * `npm install` on a fresh clone changes nothing and warns about nothing: package-lock.json's
 * root entry matches package.json (its `bin` once lacked `iot-token`, then `iot-rollout`),
 * and every dependency with an install script is allowed or denied in package.json's
 * `allowScripts` (npm 11 prints one warning per package it has no decision for).
 *
 * Runs npm itself on a copy of the two files in a temporary directory, lockfile only and
 * offline: what it checks is npm's own resolution against the committed lockfile, without
 * touching this checkout's node_modules or the network.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./support/server.js";

const run = promisify(execFile);

describe("npm install on a fresh clone", () => {
  let dir: string;
  let output: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "iot-install-"));
    for (const file of ["package.json", "package-lock.json"]) await copyFile(join(ROOT, file), join(dir, file));
    const { stdout, stderr } = await run(
      "npm",
      ["install", "--package-lock-only", "--offline", "--no-audit", "--no-fund"],
      { cwd: dir, env: { ...process.env, npm_config_loglevel: "warn" } },
    );
    output = stdout + stderr;
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("leaves package-lock.json byte for byte as committed", async () => {
    const before = await readFile(join(ROOT, "package-lock.json"), "utf8");
    expect(await readFile(join(dir, "package-lock.json"), "utf8")).toBe(before);
  });

  it("prints no install-script warning: every script is allowed or denied on purpose", () => {
    expect(output).not.toMatch(/install-scripts|install scripts/i);
    expect(output).not.toMatch(/npm warn/i);
  });

  it("decides on exactly the packages whose install scripts the project knows about", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      allowScripts: Record<string, boolean>;
      scarfSettings: { enabled: boolean };
    };
    // Allowed: each fetches or checks its platform's native binary. Denied: swagger-ui-dist's
    // usage report (@scarf/scarf) and sharp's build from source (only miniflare's Images binding uses sharp).
    expect(pkg.allowScripts).toEqual({
      bun: true,
      deno: true,
      esbuild: true,
      workerd: true,
      "@scarf/scarf": false,
      sharp: false,
    });
    // npm before 11 runs every install script: @scarf/scarf reads this and reports nothing.
    expect(pkg.scarfSettings).toEqual({ enabled: false });
  });
});
