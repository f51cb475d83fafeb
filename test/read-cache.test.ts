/**
 * The filesystem driver's read cache and the config summary index against changes made
 * behind the server's back (an operator's editor, a sync job): each kind of edit is seen
 * within the bound, and the cache never hands out bytes under another version's hash.
 *
 * Two ways to see a change are tested apart: the revalidation bound alone (watching off,
 * a clock the test steps, so "within 1 s" is checked without waiting or timing), and the
 * watcher alone (a clock that never moves, so only the watcher can make the change seen).
 * A chmod is tested through a server running as an unprivileged user
 * (test/device-reads.test.ts): to root every file stays readable.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rename, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { readAllBytes, type StorageDriver } from "../src/core/storage.js";
import { createConfigStore } from "../src/features/configs/store.js";
import { createFsStorage } from "../src/plugins/storage/fs.js";
import { REVALIDATE_MS, SMALL_FILE_BYTES } from "../src/plugins/storage/fs-cache.js";
import { waitUntil } from "./support/wait.js";

const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

interface Setup {
  driver: StorageDriver;
  dirs: { configs: string; assets: string };
  /** Moves the driver's clock forward (only with `clock: "stepped"`). */
  step(ms: number): void;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(watch: boolean): Promise<Setup> {
  const root = await mkdtemp(join(tmpdir(), "iot-cache-"));
  const dirs = { configs: join(root, "configs"), assets: join(root, "assets") };
  let time = 1_000_000;
  const driver = await createFsStorage({
    configsDir: dirs.configs,
    assetsDir: dirs.assets,
    stateDir: join(root, "state"),
    logger: createMemoryLogger(),
    now: () => time,
    watch,
  });
  cleanups.push(async () => {
    await driver.dispose?.();
    await rm(root, { recursive: true, force: true });
  });
  return {
    driver,
    dirs,
    step: (ms) => {
      time += ms;
    },
  };
}

/** What a read returns, checked for consistency: the bytes must be the ones the hash names. */
async function readText(driver: StorageDriver, area: "configs" | "assets", name: string) {
  const object = await driver.read(area, name);
  if (!object) return null;
  const bytes = object.bytes ?? (await readAllBytes(object.body));
  expect(sha256(bytes), `hash claimed for ${name}`).toBe(object.sha256);
  return new TextDecoder().decode(bytes);
}

/**
 * Runs `rewrite(1..times)` one after another while `read` runs in a loop; returns how many
 * reads were made. A failed read stops the rewrites before the error is passed on, so no
 * write outlives the test's directory.
 */
async function whileRewriting(times: number, rewrite: (i: number) => Promise<void>, read: () => Promise<void>) {
  let stop = false;
  const writer = (async () => {
    for (let i = 1; i <= times && !stop; i++) await rewrite(i);
    stop = true;
  })();
  let reads = 0;
  try {
    while (!stop) {
      await read();
      reads++;
    }
  } finally {
    stop = true;
    await writer;
  }
  return reads;
}

/** Each out-of-band edit, done the way tools do it, and what a read must show afterwards. */
const edits: Array<{ what: string; edit(path: string): Promise<void>; expected: string | null }> = [
  {
    what: "a write in place (an editor that rewrites the file)",
    edit: (path) => writeFile(path, '{"v":"edited in place, longer"}'),
    expected: '{"v":"edited in place, longer"}',
  },
  {
    what: "a rename over it (a sync job writing a temporary file first)",
    edit: async (path) => {
      await writeFile(`${path}.new`, '{"v":"renamed"}');
      await rename(`${path}.new`, path);
    },
    expected: '{"v":"renamed"}',
  },
  { what: "a delete", edit: (path) => unlink(path), expected: null },
];

describe("read cache: the server's own writes", () => {
  it("are served at once, with no watcher and a clock that never moves", async () => {
    const { driver } = await setup(false);
    await driver.write("configs", "aa-bb-cc-dd-ee-ff.json", new TextEncoder().encode('{"v":1}'));
    expect(await readText(driver, "configs", "aa-bb-cc-dd-ee-ff.json")).toBe('{"v":1}');
    await driver.write("configs", "aa-bb-cc-dd-ee-ff.json", new TextEncoder().encode('{"v":2}'));
    expect(await readText(driver, "configs", "aa-bb-cc-dd-ee-ff.json")).toBe('{"v":2}');
    await driver.remove("configs", "aa-bb-cc-dd-ee-ff.json");
    expect(await readText(driver, "configs", "aa-bb-cc-dd-ee-ff.json")).toBeNull();
  });
});

describe("read cache: out-of-band edits, revalidation alone (no watcher)", () => {
  for (const { what, edit, expected } of edits) {
    it(`sees ${what} once ${REVALIDATE_MS} ms have passed, and serves from memory before`, async () => {
      const { driver, dirs, step } = await setup(false);
      const path = join(dirs.configs, "aa-bb-cc-dd-ee-ff.json");
      await writeFile(path, '{"v":"original"}');
      expect(await readText(driver, "configs", "aa-bb-cc-dd-ee-ff.json")).toBe('{"v":"original"}');
      await edit(path);
      // Within the bound the cached version is served without touching the disk (that is the point of it)...
      step(REVALIDATE_MS - 1);
      expect(await readText(driver, "configs", "aa-bb-cc-dd-ee-ff.json")).toBe('{"v":"original"}');
      // ...and once the bound has passed, the next read sees the edit.
      step(1);
      expect(await readText(driver, "configs", "aa-bb-cc-dd-ee-ff.json")).toBe(expected);
    });
  }
});

describe("read cache: out-of-band edits, the watcher alone (the clock never moves)", () => {
  for (const { what, edit, expected } of edits) {
    it(`sees ${what} without waiting for revalidation`, async () => {
      const { driver, dirs } = await setup(true);
      expect(driver.watchesOthers?.("configs")).toBe(true);
      const path = join(dirs.configs, "aa-bb-cc-dd-ee-ff.json");
      await writeFile(path, '{"v":"original"}');
      expect(await readText(driver, "configs", "aa-bb-cc-dd-ee-ff.json")).toBe('{"v":"original"}');
      await edit(path);
      await waitUntil(
        `the watcher to report ${what}`,
        async () => (await readText(driver, "configs", "aa-bb-cc-dd-ee-ff.json")) === expected,
      );
    });
  }
});

describe("read cache: consistency under concurrent out-of-band rewrites", () => {
  it("never returns bytes whose hash differs from the one it claims (small files, cached)", async () => {
    const { driver, dirs, step } = await setup(true);
    const path = join(dirs.configs, "aa-bb-cc-dd-ee-ff.json");
    await writeFile(path, '{"v":0}');
    const reads = await whileRewriting(
      300,
      async (i) => {
        // Alternate the ways files change: in place (truncate, then write) and by rename.
        if (i % 2) await writeFile(path, JSON.stringify({ v: i, pad: "x".repeat(i % 37) }));
        else {
          await writeFile(`${path}.tmp${i}`, JSON.stringify({ v: i }));
          await rename(`${path}.tmp${i}`, path);
        }
      },
      async () => {
        step(REVALIDATE_MS / 4);
        await readText(driver, "configs", "aa-bb-cc-dd-ee-ff.json");
      },
    );
    expect(reads).toBeGreaterThan(0);
    // And once the writes stop, what is served is the last version.
    step(REVALIDATE_MS);
    expect(JSON.parse((await readText(driver, "configs", "aa-bb-cc-dd-ee-ff.json")) ?? "null")).toEqual({ v: 300 });
  });

  it("never returns bytes whose hash differs from the one it claims (large files, streamed)", async () => {
    const { driver, dirs } = await setup(true);
    const path = join(dirs.assets, "fw.bin");
    const versions = Array.from({ length: 4 }, () => randomBytes(SMALL_FILE_BYTES + 4096));
    await writeFile(path, versions[0] as Buffer);
    const known = new Set(versions.map((v) => sha256(v)));
    const reads = await whileRewriting(
      40,
      async (i) => {
        await writeFile(`${path}.tmp`, versions[i % versions.length] as Buffer);
        await rename(`${path}.tmp`, path);
      },
      async () => {
        const object = await driver.read("assets", "fw.bin");
        if (!object) throw new Error("the asset vanished during atomic replaces");
        const bytes = await readAllBytes(object.body);
        expect(sha256(bytes)).toBe(object.sha256);
        expect(known.has(object.sha256)).toBe(true);
      },
    );
    expect(reads).toBeGreaterThan(0);
  });
});

describe("summary index: listing after out-of-band edits", () => {
  const mac = "aa-bb-cc-dd-ee-ff";
  const named = (name: string) => JSON.stringify({ deviceName: name });

  it("sees an edit reported by the watcher at once (the clock never moves)", async () => {
    const { driver, dirs } = await setup(true);
    const store = createConfigStore(driver, createMemoryLogger(), 65536);
    await writeFile(join(dirs.configs, `${mac}.json`), named("before"));
    expect((await store.list()).map((s) => s.device_name)).toEqual(["before"]);
    await writeFile(join(dirs.configs, `${mac}.json.new`), named("after"));
    await rename(join(dirs.configs, `${mac}.json.new`), join(dirs.configs, `${mac}.json`));
    await waitUntil("the listing to show the renamed-over config", async () => {
      const list = await store.list();
      return list.length === 1 && list[0]?.device_name === "after";
    });
    await unlink(join(dirs.configs, `${mac}.json`));
    await waitUntil("the listing to drop the deleted config", async () => (await store.list()).length === 0);
  });

  it("without a watcher, keeps no index and sees an edit within the read cache's bound", async () => {
    const { driver, dirs, step } = await setup(false);
    expect(driver.watchesOthers?.("configs")).toBe(false);
    const store = createConfigStore(driver, createMemoryLogger(), 65536);
    await writeFile(join(dirs.configs, `${mac}.json`), named("before"));
    expect((await store.list()).map((s) => s.device_name)).toEqual(["before"]);
    await writeFile(join(dirs.configs, `${mac}.json`), named("after, in place"));
    step(REVALIDATE_MS);
    expect((await store.list()).map((s) => s.device_name)).toEqual(["after, in place"]);
  });

  it("reflects the server's own saves and deletes in the next listing", async () => {
    const { driver } = await setup(true);
    const store = createConfigStore(driver, createMemoryLogger(), 65536);
    await store.save(mac, { deviceName: "one" }, true);
    expect((await store.list()).map((s) => s.device_name)).toEqual(["one"]);
    await store.save(mac, { deviceName: "two" }, true);
    expect((await store.list()).map((s) => s.device_name)).toEqual(["two"]);
    await store.remove(mac);
    expect(await store.list()).toEqual([]);
  });
});

describe("read cache: peek (the fast path's look into the cache)", () => {
  it("finds a held file by its plain name, the same entry any spelling of its path names, until the bound", async () => {
    const { driver, step } = await setup(false);
    await driver.write("configs", "aa-bb-cc-dd-ee-ff.json", new TextEncoder().encode('{"a":1}'));
    await readText(driver, "configs", "aa-bb-cc-dd-ee-ff.json");
    const held = driver.peek?.("configs", "aa-bb-cc-dd-ee-ff.json");
    expect(held && new TextDecoder().decode(held.bytes)).toBe('{"a":1}');
    // Names with a path in them go through path.join, as reads do: the same file, the same entry.
    expect(driver.peek?.("configs", "./aa-bb-cc-dd-ee-ff.json")).toBe(held);
    expect(driver.peek?.("configs", "../configs/aa-bb-cc-dd-ee-ff.json")).toBe(held);
    // Not another area's, and not "." or "" (the directory itself).
    expect(driver.peek?.("assets", "aa-bb-cc-dd-ee-ff.json")).toBeUndefined();
    expect(driver.peek?.("configs", ".")).toBeUndefined();
    expect(driver.peek?.("configs", "")).toBeUndefined();
    step(REVALIDATE_MS);
    expect(driver.peek?.("configs", "aa-bb-cc-dd-ee-ff.json")).toBeUndefined();
  });

  it("finds the file when the directories are given with a trailing slash", async () => {
    const root = await mkdtemp(join(tmpdir(), "iot-cache-slash-"));
    const driver = await createFsStorage({
      configsDir: `${join(root, "configs")}/`,
      assetsDir: `${join(root, "assets")}//`,
      stateDir: join(root, "state"),
      logger: createMemoryLogger(),
      now: () => 5_000,
      watch: false,
    });
    cleanups.push(async () => {
      await driver.dispose?.();
      await rm(root, { recursive: true, force: true });
    });
    await driver.write("configs", "aa-bb-cc-dd-ee-01.json", new TextEncoder().encode("{}"));
    await driver.write("assets", "fw.bin", new TextEncoder().encode("x"));
    await driver.read("configs", "aa-bb-cc-dd-ee-01.json");
    await driver.read("assets", "fw.bin");
    expect(driver.peek?.("configs", "aa-bb-cc-dd-ee-01.json")?.bytes.length).toBe(2);
    expect(driver.peek?.("assets", "fw.bin")?.bytes.length).toBe(1);
  });
});
