/**
 * Writes to one object land in the order they were asked for (core/ordered-writes.ts, for
 * every driver), and the filesystem driver never caches bytes that a write has replaced
 * while they were being read. The end-to-end proof over HTTP on every runtime is
 * test/write-order.test.ts; these check each half on its own.
 */
import { renameSync, statSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { orderWrites } from "../src/core/ordered-writes.js";
import { readAllBytes, type StorageDriver } from "../src/core/storage.js";
import { createFileCache, versionOf } from "../src/plugins/storage/fs-cache.js";
import { createFsReader } from "../src/plugins/storage/fs-read.js";
import { createMemoryStorage } from "../src/plugins/storage/memory.js";

const text = (s: string) => new TextEncoder().encode(s);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * The memory driver with a random delay before each write takes effect: a stand-in for a
 * slow disk or object store (the delay is the only thing faked), so that unordered writes
 * would land in a random order.
 */
function slowMemory(): { driver: StorageDriver; landed: string[] } {
  const inner = createMemoryStorage();
  const landed: string[] = [];
  const driver: StorageDriver = {
    ...inner,
    async write(area, name, data, options) {
      await sleep(Math.random() * 20);
      const outcome = await inner.write(area, name, data, options);
      landed.push(new TextDecoder().decode(data));
      return outcome;
    },
  };
  return { driver, landed };
}

const readString = async (driver: StorageDriver, name: string) => {
  const object = await driver.read("configs", name);
  return object ? new TextDecoder().decode(object.bytes ?? (await readAllBytes(object.body))) : null;
};

describe("orderWrites", () => {
  it("lands concurrent writes to one name in the order they were asked for; the last asked is stored", async () => {
    const { driver, landed } = slowMemory();
    const ordered = orderWrites(driver);
    const asked = Array.from({ length: 30 }, (_, i) => `v${i}`);
    await Promise.all(asked.map((v) => ordered.write("configs", "a.json", text(v))));
    expect(landed).toEqual(asked);
    expect(await readString(ordered, "a.json")).toBe("v29");
  });

  it("does not hold a write to one name behind a write to another", async () => {
    const inner = createMemoryStorage();
    let release: () => void = () => undefined;
    const held = new Promise<void>((done) => {
      release = done;
    });
    // a.json's write waits until the test lets it go; b.json's must not wait with it.
    const driver: StorageDriver = {
      ...inner,
      async write(area, name, data, options) {
        if (name === "a.json") await held;
        return inner.write(area, name, data, options);
      },
    };
    const ordered = orderWrites(driver);
    const a = ordered.write("configs", "a.json", text("a"));
    expect(await ordered.write("configs", "b.json", text("b"))).toBe("created");
    expect(await readString(ordered, "a.json")).toBeNull();
    release();
    expect(await a).toBe("created");
  });

  it("runs the next write after a failed one, and passes each outcome to its own caller", async () => {
    const inner = createMemoryStorage();
    let calls = 0;
    const failing: StorageDriver = {
      ...inner,
      async write(area, name, data, options) {
        calls++;
        if (calls === 1) throw new Error("disk on fire");
        return inner.write(area, name, data, options);
      },
    };
    const ordered = orderWrites(failing);
    const [first, second] = await Promise.allSettled([
      ordered.write("configs", "a.json", text("1")),
      ordered.write("configs", "a.json", text("2"), { ifAbsent: true }),
    ]);
    expect(first.status).toBe("rejected");
    expect(second).toEqual({ status: "fulfilled", value: "created" });
  });

  it("orders a staged commit and a remove behind the writes asked for before them", async () => {
    const { driver } = slowMemory();
    const ordered = orderWrites(driver);
    const staged = await ordered.stage("assets", "fw.bin");
    await staged.write(text("staged"));
    const write = ordered.write("configs", "a.json", text("before remove"));
    const removed = ordered.remove("configs", "a.json");
    const commit = staged.commit();
    await Promise.all([write, commit]);
    expect(await removed).toBe(true);
    expect(await readString(ordered, "a.json")).toBeNull();
  });
});

describe("filesystem driver: a read overtaken by a write", () => {
  const roots: string[] = [];
  afterEach(async () => {
    for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
  });

  it("serves what it read to its own caller but never keeps it once a write replaced the file meanwhile", async () => {
    const root = await mkdtemp(join(tmpdir(), "iot-race-"));
    roots.push(root);
    const dir = join(root, "configs");
    await mkdir(dir);
    const path = join(dir, "a.json");
    await writeFile(path, "old");
    // The real cache and reader. The one thing arranged is the moment: when the reader has
    // read the old bytes and is about to keep them, a write lands, exactly as fs.ts does it
    // (new file renamed into place, reads in flight overtaken, the new version kept). On a
    // real machine that moment is a window of microseconds, too narrow to hit on purpose.
    const cache = createFileCache(() => 0);
    const remember = cache.remember;
    let writeLanded = false;
    cache.remember = (file, version, sha256) => {
      remember(file, version, sha256);
      if (writeLanded || file !== path) return;
      writeLanded = true;
      writeFileSync(`${path}.new`, "new");
      renameSync(`${path}.new`, path);
      const info = statSync(path, { bigint: true });
      cache.overtakeReads(path);
      cache.keepContent(path, versionOf(info), text("new"), "hash-of-new", Number(info.mtimeMs));
    };
    const read = createFsReader({ configs: dir, assets: join(root, "assets") }, cache, () => 0);

    const first = await read("configs", "a.json");
    expect(writeLanded).toBe(true);
    expect(new TextDecoder().decode(first?.bytes)).toBe("old");
    // The clock never moves, so nothing but what the cache kept decides the next answer.
    const second = await read("configs", "a.json");
    expect(new TextDecoder().decode(second?.bytes)).toBe("new");
  });
});
