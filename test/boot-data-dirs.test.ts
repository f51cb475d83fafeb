/**
 * Data directories that are equal or nested stop the boot (issue 16, security re-probe):
 * with ESP32_CONFIGS_DIR = ASSETS_DIR the server booted, and a signed asset named
 * `<mac>.json` was then served to that device as its config. Real server processes (Node,
 * and the same check on Deno and Bun, where links are resolved by their own node:fs).
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bootOutcome, expectRefusal } from "./support/boot-outcome.js";
import { caseFolders } from "./support/case-folders.js";
import { testKeys } from "./support/keys.js";
import { npmScript, runtimeAvailable, spawnServer } from "./support/server.js";

/** A deadline for a boot on Deno or Bun (a cold Deno compiles the TypeScript first), not a speed expectation. */
const OTHER_RUNTIME_TEST_MS = 150_000;

const cases = caseFolders("iot-boot-dirs-");
const caseDir = () => cases.next();

describe("Node refuses data directories that are not apart, with one line naming both", () => {
  it("ESP32_CONFIGS_DIR = ASSETS_DIR (the re-probe's case): refused before anything is created", async () => {
    const dir = await caseDir();
    const shared = join(dir, "files");
    const outcome = await bootOutcome({ DATA_DIR: join(dir, "data"), ESP32_CONFIGS_DIR: shared, ASSETS_DIR: shared });
    const line = expectRefusal(outcome, "ASSETS_DIR");
    expect(line).toContain("ESP32_CONFIGS_DIR");
    expect(line).toContain(`"${shared}"`);
    // Neither the shared directory, nor DATA_DIR, nor a development key.
    expect(await readdir(dir)).toEqual([]);
  });

  it("ASSETS_DIR a link to ESP32_CONFIGS_DIR: the same directory under a second name", async () => {
    const dir = await caseDir();
    await mkdir(join(dir, "configs"));
    await symlink(join(dir, "configs"), join(dir, "assets"));
    const outcome = await bootOutcome({ ESP32_CONFIGS_DIR: join(dir, "configs"), ASSETS_DIR: join(dir, "assets") });
    expect(expectRefusal(outcome, "ASSETS_DIR")).toContain("is the same directory as ESP32_CONFIGS_DIR");
  });

  it("ASSETS_DIR = DATA_DIR with the others at their defaults: names ASSETS_DIR, which contains them", async () => {
    const dataDir = join(await caseDir(), "data");
    const line = expectRefusal(await bootOutcome({ DATA_DIR: dataDir, ASSETS_DIR: dataDir }), "ASSETS_DIR");
    expect(line).toContain("contains ESP32_CONFIGS_DIR");
    expect(existsSync(join(dataDir, "dev-signing-key.pem"))).toBe(false);
  });

  it("STATE_DIR inside ASSETS_DIR (its markers would be served): names STATE_DIR", async () => {
    const dir = await caseDir();
    const env = { ASSETS_DIR: join(dir, "assets"), STATE_DIR: join(dir, "assets", "state") };
    expect(expectRefusal(await bootOutcome(env), "STATE_DIR")).toContain("is inside ASSETS_DIR");
  });

  it("siblings whose names share a prefix boot and serve", async () => {
    const dir = await caseDir();
    const keys = testKeys();
    const server = await spawnServer({
      SIGNING_KEY: keys.spki,
      ESP32_CONFIGS_DIR: join(dir, "files"),
      ASSETS_DIR: join(dir, "files-assets"),
      STATE_DIR: join(dir, "files.state"),
    });
    try {
      expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
    } finally {
      await server.cleanup();
    }
  });
});

describe.each(["deno", "bun"] as const)("on %s (the same check, through boot.ts)", (runtime) => {
  if (!runtimeAvailable(runtime)) {
    it.skip(`${runtime} SKIPPED: the ${runtime} binary from npm cannot start on this machine`);
    return;
  }
  it(
    "ASSETS_DIR a link to ESP32_CONFIGS_DIR is refused naming both",
    async () => {
      const dir = await caseDir();
      await mkdir(join(dir, "configs"));
      await symlink(join(dir, "configs"), join(dir, "assets"));
      const env = { ESP32_CONFIGS_DIR: join(dir, "configs"), ASSETS_DIR: join(dir, "assets") };
      const line = expectRefusal(await bootOutcome(env, npmScript(`start:${runtime}`)), "ASSETS_DIR");
      expect(line).toContain("is the same directory as ESP32_CONFIGS_DIR");
    },
    OTHER_RUNTIME_TEST_MS,
  );
});
