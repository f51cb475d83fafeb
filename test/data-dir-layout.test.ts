/**
 * The data directories must be apart (issue 16, security re-probe: ESP32_CONFIGS_DIR equal to
 * ASSETS_DIR booted, and a signed asset named `<mac>.json` was then served as that device's
 * config). The check itself, on a real filesystem with real links; the boots that run it are
 * in boot-data-dirs.test.ts.
 */
import { mkdir, readdir, symlink } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { loadSettings, SettingsError } from "../src/core/settings.js";
import { assertSeparateDirectories, canonicalPath } from "../src/runtimes/data-dir-layout.js";
import { caseFolders } from "./support/case-folders.js";

/** A fresh, empty folder per case, under a root with links resolved (expected paths compare equal). */
const cases = caseFolders("iot-layout-", { resolved: true });
const caseDir = () => cases.next();

/** The refusal for `env` (DATA_DIR is `<case>/data` unless given), or undefined when the layout is accepted. */
async function refusal(dir: string, env: Record<string, string>): Promise<SettingsError | undefined> {
  const settings = loadSettings({ DATA_DIR: join(dir, "data"), ...env });
  try {
    await assertSeparateDirectories(settings);
    return undefined;
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
}

describe("data directories that are equal or nested are refused, naming both variables", () => {
  it.each<[string, (d: string) => Record<string, string>, string, string]>([
    [
      "ESP32_CONFIGS_DIR = ASSETS_DIR",
      (d) => ({ ESP32_CONFIGS_DIR: join(d, "files"), ASSETS_DIR: join(d, "files") }),
      "ASSETS_DIR",
      "ESP32_CONFIGS_DIR",
    ],
    [
      "the same, spelled with a trailing slash and ..",
      (d) => ({ ESP32_CONFIGS_DIR: `${join(d, "files")}/`, ASSETS_DIR: join(d, "x", "..", "files") }),
      "ASSETS_DIR",
      "ESP32_CONFIGS_DIR",
    ],
    [
      "the same, one relative to the working directory",
      (d) => ({ ESP32_CONFIGS_DIR: relative(process.cwd(), join(d, "files")), ASSETS_DIR: join(d, "files") }),
      "ASSETS_DIR",
      "ESP32_CONFIGS_DIR",
    ],
    [
      "ASSETS_DIR inside ESP32_CONFIGS_DIR",
      (d) => ({ ESP32_CONFIGS_DIR: join(d, "configs"), ASSETS_DIR: join(d, "configs", "assets") }),
      "ASSETS_DIR",
      "inside ESP32_CONFIGS_DIR",
    ],
    [
      "ESP32_CONFIGS_DIR deep inside ASSETS_DIR",
      (d) => ({ ESP32_CONFIGS_DIR: join(d, "assets", "a", "b"), ASSETS_DIR: join(d, "assets") }),
      "ESP32_CONFIGS_DIR",
      "inside ASSETS_DIR",
    ],
    [
      "STATE_DIR = ASSETS_DIR",
      (d) => ({ ASSETS_DIR: join(d, "assets"), STATE_DIR: join(d, "assets") }),
      "STATE_DIR",
      "ASSETS_DIR",
    ],
    [
      "STATE_DIR inside ESP32_CONFIGS_DIR",
      (d) => ({ ESP32_CONFIGS_DIR: join(d, "configs"), STATE_DIR: join(d, "configs", ".state") }),
      "STATE_DIR",
      "inside ESP32_CONFIGS_DIR",
    ],
    [
      "ASSETS_DIR inside STATE_DIR",
      (d) => ({ ASSETS_DIR: join(d, "state", "assets"), STATE_DIR: join(d, "state") }),
      "ASSETS_DIR",
      "inside STATE_DIR",
    ],
    // Only ASSETS_DIR was set; the defaults below DATA_DIR are inside it: the variable the operator set is named.
    [
      "ASSETS_DIR = DATA_DIR, the others at their defaults",
      (d) => ({ ASSETS_DIR: join(d, "data") }),
      "ASSETS_DIR",
      "contains ESP32_CONFIGS_DIR",
    ],
    [
      "STATE_DIR = DATA_DIR, the others at their defaults",
      (d) => ({ STATE_DIR: join(d, "data") }),
      "STATE_DIR",
      "contains ESP32_CONFIGS_DIR",
    ],
    [
      "ESP32_CONFIGS_DIR = the parent of DATA_DIR",
      (d) => ({ ESP32_CONFIGS_DIR: d }),
      "ESP32_CONFIGS_DIR",
      "contains ASSETS_DIR",
    ],
  ])("%s", async (_name, env, variable, mention) => {
    const dir = await caseDir();
    const error = await refusal(dir, env(dir));
    expect(error?.variable).toBe(variable);
    expect(error?.message).toMatch(new RegExp(`^Invalid setting ${variable}: `));
    expect(error?.message).toContain(mention);
    expect(error?.message).not.toContain("\n");
    // Nothing was created on the way to the answer.
    expect(await readdir(dir)).toEqual([]);
  });

  it("a link to ESP32_CONFIGS_DIR given as ASSETS_DIR (the same directory under a second name)", async () => {
    const dir = await caseDir();
    await mkdir(join(dir, "configs"));
    await symlink(join(dir, "configs"), join(dir, "assets"));
    const error = await refusal(dir, { ESP32_CONFIGS_DIR: join(dir, "configs"), ASSETS_DIR: join(dir, "assets") });
    expect(error?.variable).toBe("ASSETS_DIR");
    expect(error?.message).toContain("is the same directory as ESP32_CONFIGS_DIR");
    // The resolved path is shown beside the one configured, so the operator sees why.
    expect(error?.message).toContain(`"${join(dir, "assets")}" (${join(dir, "configs")})`);
  });

  it("directories not created yet below a linked parent: compared through the link", async () => {
    const dir = await caseDir();
    await mkdir(join(dir, "real"));
    await symlink("real", join(dir, "alias"));
    const env = { ESP32_CONFIGS_DIR: join(dir, "real", "files"), ASSETS_DIR: join(dir, "alias", "files") };
    expect((await refusal(dir, env))?.variable).toBe("ASSETS_DIR");
    const nested = { ESP32_CONFIGS_DIR: join(dir, "real"), STATE_DIR: join(dir, "alias", "state", "deeper") };
    expect((await refusal(dir, nested))?.message).toContain("is inside ESP32_CONFIGS_DIR");
  });
});

describe("data directories that are apart are accepted", () => {
  it.each<[string, (d: string) => Record<string, string>]>([
    ["the defaults below DATA_DIR", () => ({})],
    [
      "siblings whose names share a prefix",
      (d) => ({
        ESP32_CONFIGS_DIR: join(d, "files"),
        ASSETS_DIR: join(d, "files-assets"),
        STATE_DIR: join(d, "files.state"),
      }),
    ],
    [
      "all three set apart, under DATA_DIR",
      (d) => ({
        ESP32_CONFIGS_DIR: join(d, "data", "c"),
        ASSETS_DIR: join(d, "data", "a"),
        STATE_DIR: join(d, "data", "s"),
      }),
    ],
    [
      "paths that cannot be resolved (left to the directory checks that follow)",
      () => ({ ESP32_CONFIGS_DIR: "/dev/null/x" }),
    ],
  ])("%s", async (_name, env) => {
    const dir = await caseDir();
    expect(await refusal(dir, env(dir))).toBeUndefined();
  });
});

describe("canonicalPath", () => {
  it("resolves the existing part through links and keeps the missing rest as named", async () => {
    const dir = await caseDir();
    await mkdir(join(dir, "real"));
    await symlink("real", join(dir, "alias"));
    expect(await canonicalPath(join(dir, "alias", "not", "yet"))).toBe(join(dir, "real", "not", "yet"));
    expect(await canonicalPath(`${join(dir, "alias")}/`)).toBe(join(dir, "real"));
    expect(await canonicalPath("/dev/null/x")).toBe("/dev/null/x");
  });
});
