import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isAppError } from "../src/core/errors.js";
import { createMemoryLogger } from "../src/core/logger.js";
import { createFsStorage } from "../src/plugins/storage/fs.js";
import { testStorageDriver } from "./support/storage-conformance.js";

async function fsDriver() {
  const root = await mkdtemp(join(tmpdir(), "iot-fs-"));
  const dirs = { configs: join(root, "configs"), assets: join(root, "assets") };
  const logger = createMemoryLogger();
  const driver = await createFsStorage({ configsDir: dirs.configs, assetsDir: dirs.assets, logger });
  return {
    root,
    dirs,
    logger,
    driver,
    rawNames: async (area: "configs" | "assets") => (await readdir(dirs[area])).sort(),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

testStorageDriver({ name: "filesystem", create: fsDriver });

describe("filesystem driver specifics", () => {
  it("sweeps temporary files left by an interrupted write at start-up", async () => {
    const root = await mkdtemp(join(tmpdir(), "iot-fs-"));
    try {
      await mkdir(join(root, "configs"));
      await writeFile(join(root, "configs", ".iotsupport-0000.tmp"), "partial");
      await writeFile(join(root, "configs", "aa-bb-cc-dd-ee-ff.json"), "{}");
      const logger = createMemoryLogger();
      await createFsStorage({ configsDir: join(root, "configs"), assetsDir: join(root, "assets"), logger });
      expect(await readdir(join(root, "configs"))).toEqual(["aa-bb-cc-dd-ee-ff.json"]);
      expect(logger.entries.some((e) => e.msg.includes("temporary files") && e.count === 1)).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("reports a vanished directory as unavailable, without the server path, and does not re-create it", async () => {
    const sut = await fsDriver();
    try {
      await rm(sut.dirs.configs, { recursive: true });
      const failure = await sut.driver.check().catch((e: unknown) => e);
      expect(isAppError(failure) && failure.code).toBe("STORAGE_UNAVAILABLE");
      expect(String((failure as Error).message)).toContain("configs directory is missing");
      expect(String((failure as Error).message)).not.toContain(sut.root);
      const write = await sut.driver.write("configs", "x.json", new Uint8Array([1])).catch((e: unknown) => e);
      expect(isAppError(write) && write.code).toBe("STORAGE_UNAVAILABLE");
      await expect(sut.driver.read("configs", "x.json")).rejects.toMatchObject({ code: "STORAGE_UNAVAILABLE" });
      await expect(sut.driver.list("configs")).rejects.toMatchObject({ code: "STORAGE_UNAVAILABLE" });
      expect(await readdir(sut.root)).toEqual(["assets"]);
    } finally {
      await sut.cleanup();
    }
  });

  it("skips directories and temporary files when listing", async () => {
    const sut = await fsDriver();
    try {
      await mkdir(join(sut.dirs.configs, "aa-bb-cc-dd-ee-ff.json"));
      await writeFile(join(sut.dirs.configs, ".iotsupport-x.tmp"), "");
      await writeFile(join(sut.dirs.configs, "11-22-33-44-55-66.json"), "{}");
      expect(await sut.driver.list("configs")).toEqual(["11-22-33-44-55-66.json"]);
      expect(await sut.driver.read("configs", "aa-bb-cc-dd-ee-ff.json")).toBeNull();
    } finally {
      await sut.cleanup();
    }
  });
});
