import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isAppError } from "../src/core/errors.js";
import { createMemoryLogger } from "../src/core/logger.js";
import { LONGEST_SIGNATURE_RETAIN_SECONDS } from "../src/core/signature-retention.js";
import { readAllBytes } from "../src/core/storage.js";
import { createFsStorage } from "../src/plugins/storage/fs.js";
import { LEDGER_DIR } from "../src/plugins/storage/fs-ledger.js";
import { testStateStore } from "./support/state-conformance.js";
import { type DriverContext, testStorageDriver } from "./support/storage-conformance.js";
import { mountSmallVolume, smallVolumesAvailable } from "./support/tmpfs.js";

async function fsDriver(context: Partial<DriverContext> = {}) {
  const root = await mkdtemp(join(tmpdir(), "iot-fs-"));
  const dirs = { configs: join(root, "configs"), assets: join(root, "assets"), state: join(root, "state") };
  const logger = createMemoryLogger();
  const driver = await createFsStorage({
    configsDir: dirs.configs,
    assetsDir: dirs.assets,
    stateDir: dirs.state,
    logger,
    wallClock: context.wallClock,
  });
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
testStateStore({ name: "filesystem", create: fsDriver });

const canMount = await smallVolumesAvailable();

describe("filesystem driver specifics", () => {
  it("sweeps temporary files left by an interrupted write at start-up", async () => {
    const root = await mkdtemp(join(tmpdir(), "iot-fs-"));
    try {
      await mkdir(join(root, "configs"));
      await writeFile(join(root, "configs", ".iotsupport-0000.tmp"), "partial");
      await writeFile(join(root, "configs", "aa-bb-cc-dd-ee-ff.json"), "{}");
      const logger = createMemoryLogger();
      await createFsStorage({
        configsDir: join(root, "configs"),
        assetsDir: join(root, "assets"),
        stateDir: join(root, "state"),
        logger,
      });
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
      expect((await readdir(sut.root)).sort()).toEqual(["assets", "state"]);
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

  it("reads regular files only, inside their directory: escaping links, FIFOs, sockets and folders are absent, and nothing blocks", async () => {
    const sut = await fsDriver();
    const socketServer = createServer();
    try {
      const text = async (name: string) => {
        const object = await sut.driver.read("assets", name);
        return object ? new TextDecoder().decode(await readAllBytes(object.body)) : null;
      };
      await writeFile(join(sut.root, "dev-signing-key.pem"), "-----BEGIN PRIVATE KEY-----secret");
      await writeFile(join(sut.dirs.assets, "fw-1.2.bin"), "firmware");
      await symlink("../dev-signing-key.pem", join(sut.dirs.assets, "key.bin"));
      await symlink(join(sut.root, "dev-signing-key.pem"), join(sut.dirs.assets, "abs.bin"));
      await symlink("fw-1.2.bin", join(sut.dirs.assets, "latest.bin"));
      await symlink("missing.bin", join(sut.dirs.assets, "dangling.bin"));
      await symlink("loop.bin", join(sut.dirs.assets, "loop.bin"));
      execFileSync("mkfifo", [join(sut.dirs.assets, "pipe.bin")]);
      await new Promise<void>((resolve) => socketServer.listen(join(sut.dirs.assets, "sock.bin"), resolve));
      await mkdir(join(sut.dirs.assets, "folder.bin"));
      // Ten FIFO reads at once: more than libuv's four file-system threads, so one blocking open would hang the rest.
      const fifoReads = await Promise.all(Array.from({ length: 10 }, () => sut.driver.read("assets", "pipe.bin")));
      expect(fifoReads.every((o) => o === null)).toBe(true);
      for (const name of ["key.bin", "abs.bin", "dangling.bin", "loop.bin", "sock.bin", "folder.bin"]) {
        expect(await text(name), name).toBeNull();
      }
      // A link that stays in the directory (e.g. "latest") is served.
      expect(await text("latest.bin")).toBe("firmware");
      expect(await text("fw-1.2.bin")).toBe("firmware");
      // The listing names exactly what reads serve: the link that stays inside too (issue 16).
      expect((await sut.driver.list("assets")).sort()).toEqual(["fw-1.2.bin", "latest.bin"]);
    } finally {
      socketServer.close();
      await sut.cleanup();
    }
  });

  it("shares one-time claims between two drivers on the same directories, as two server processes would", async () => {
    const first = await fsDriver();
    try {
      const second = await createFsStorage({
        configsDir: first.dirs.configs,
        assetsDir: first.dirs.assets,
        stateDir: first.dirs.state,
        logger: createMemoryLogger(),
      });
      const key = "0f".repeat(32);
      const outcomes = await Promise.all([
        ...Array.from({ length: 10 }, () => first.driver.claimOnce(key, 600)),
        ...Array.from({ length: 10 }, () => second.claimOnce(key, 600)),
      ]);
      expect(outcomes.filter(Boolean)).toHaveLength(1);
    } finally {
      await first.cleanup();
    }
  });

  it("writes each marker's own expiry into it, and keeps old-format markers (empty, or unreadable) for the longest retention", async () => {
    const sut = await fsDriver();
    try {
      const markers = join(sut.dirs.state, LEDGER_DIR);
      const path = (key: string) => join(markers, key);
      const setAge = async (key: string, seconds: number) => {
        const then = new Date(Date.now() - seconds * 1000);
        await utimes(path(key), then, then);
      };
      // Written by servers before markers carried their expiry, two hours ago (a server with
      // TIMESTAMP_TOLERANCE_SECONDS=3600 still needs them), and three years ago (no server does).
      const [recent, truncated, ancient] = ["7e".repeat(32), "6d".repeat(32), "8f".repeat(32)];
      await writeFile(path(recent), "");
      await setAge(recent, 7200);
      await writeFile(path(truncated), '{"expires_at":"20');
      await setAge(truncated, 7200);
      await writeFile(path(ancient), "");
      await setAge(ancient, LONGEST_SIGNATURE_RETAIN_SECONDS + 3600);
      // Not a marker of ours: a FIFO under a marker's name is left alone, and does not block the sweep.
      const fifo = "5c".repeat(32);
      execFileSync("mkfifo", [path(fifo)]);

      // The driver's first claim sweeps, here with the 70 s retention of TIMESTAMP_TOLERANCE_SECONDS=5.
      const key = "9a".repeat(32);
      const before = Date.now();
      expect(await sut.driver.claimOnce(key, 70)).toBe(true);
      const expiresAt = Date.parse(
        (JSON.parse(await readFile(path(key), "utf8")) as { expires_at: string }).expires_at,
      );
      expect(expiresAt).toBeGreaterThanOrEqual(before + 70_000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 70_000);

      expect(await sut.driver.claimOnce(recent, 70)).toBe(false);
      expect(await sut.driver.claimOnce(truncated, 70)).toBe(false);
      expect(await sut.driver.claimOnce(fifo, 70)).toBe(false);
      expect(await sut.driver.claimOnce(ancient, 70)).toBe(true);
      expect(sut.logger.entries.filter((e) => e.msg.includes("could not sweep"))).toEqual([]);
    } finally {
      await sut.cleanup();
    }
  });

  it("a staged write's flush starts at digest: commit after it stores the bytes, abort after it leaves no file", async () => {
    const { driver, rawNames, cleanup } = await fsDriver();
    try {
      const bytes = new Uint8Array(1024 * 1024).fill(7);
      const kept = await driver.stage("assets", "kept.bin");
      await kept.write(bytes);
      expect(await kept.digest()).toMatch(/^[0-9a-f]{64}$/);
      expect(await kept.commit()).toEqual({ outcome: "created", size: bytes.byteLength });
      const dropped = await driver.stage("assets", "dropped.bin");
      await dropped.write(bytes);
      await dropped.digest();
      await dropped.abort();
      expect(await rawNames("assets")).toEqual(["kept.bin"]);
      const read = await driver.read("assets", "kept.bin");
      expect(read && (await readAllBytes(read.body))).toEqual(bytes);
    } finally {
      await cleanup();
    }
  });

  it.runIf(canMount)(
    "answers STORAGE_FULL (507) on a full volume and leaves no partial or temporary file",
    async () => {
      const volume = await mountSmallVolume(512);
      try {
        const driver = await createFsStorage({
          configsDir: join(volume.dir, "configs"),
          assetsDir: join(volume.dir, "assets"),
          stateDir: join(volume.dir, "state"),
          logger: createMemoryLogger(),
        });
        const big = new Uint8Array(256 * 1024).fill(1);
        const staged = await driver.stage("assets", "big.bin");
        let failure: unknown;
        try {
          for (let i = 0; i < 8; i++) await staged.write(big);
        } catch (error) {
          failure = error;
        }
        await staged.abort();
        expect(isAppError(failure) && failure.code).toBe("STORAGE_FULL");
        expect(isAppError(failure) && failure.status).toBe(507);
        const whole = await driver
          .write("configs", "aa-bb-cc-dd-ee-ff.json", new Uint8Array(600 * 1024))
          .catch((e: unknown) => e);
        expect(isAppError(whole) && whole.code).toBe("STORAGE_FULL");
      } finally {
        expect(await readdir(join(volume.dir, "assets"))).toEqual([]);
        expect(await readdir(join(volume.dir, "configs"))).toEqual([]);
        await volume.cleanup();
      }
    },
  );
});
