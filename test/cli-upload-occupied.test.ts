/**
 * iot-upload explains NAME_OCCUPIED (issue 16): a directory named like the file in the
 * server's assets directory is not replaced, and the operator reads why. The real command
 * against a real spawned server with its real assets directory.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runUpload } from "./support/cli-run.js";
import { testKeys } from "./support/keys.js";
import { type SpawnedServer, spawnServer } from "./support/server.js";

/** A deadline for one CLI run against a spawned server on a loaded machine, not an expectation of speed. */
const CLI_TEST_MS = 120_000;

describe("iot-upload when a directory holds the file's name on the server", () => {
  const keys = testKeys();
  let dir: string;
  let server: SpawnedServer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "iot-upload-occupied-"));
    await writeFile(join(dir, "key.pem"), keys.pkcs8, { mode: 0o600 });
    await writeFile(join(dir, "fw.bin"), "firmware");
    server = await spawnServer({ SIGNING_KEY: keys.spki });
  });
  afterAll(async () => {
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    "exits 1 naming 409 NAME_OCCUPIED and what the operator must do; the directory stays",
    async () => {
      const assets = join(server.dataDir, "assets");
      await mkdir(join(assets, "fw.bin"));
      const run = await runUpload([join(dir, "fw.bin"), "--server", server.url, "--key", join(dir, "key.pem")]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("409 NAME_OCCUPIED");
      expect(run.stderr).toContain("holds a directory with this file's name");
      expect(run.stdout).toBe("");
      expect((await readdir(join(assets, "fw.bin"))).length).toBe(0);
    },
    CLI_TEST_MS,
  );
});
