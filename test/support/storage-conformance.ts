/**
 * The storage conformance suite. Every storage driver's test file calls
 * `testStorageDriver(...)` in one line; capabilities a driver lacks are skipped
 * explicitly, with the reason printed.
 */
import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readAllBytes, type StorageDriver } from "../../src/core/storage.js";

export interface DriverUnderTest {
  driver: StorageDriver;
  /** Names present in an area's backing store, including any temporary objects. */
  rawNames?(area: "configs" | "assets"): Promise<string[]>;
  cleanup(): Promise<void>;
}

/** What the suite hands each driver it creates. */
export interface DriverContext {
  /** The wall clock the driver must use for one-time markers: the suite steps it instead of waiting. */
  wallClock: () => number;
}

export interface ConformanceOptions {
  name: string;
  create(context: DriverContext): Promise<DriverUnderTest>;
  /** Set when concurrent `ifAbsent` creates cannot be made exclusive (say why). */
  skipExclusiveCreate?: string;
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = async (driver: StorageDriver, area: "configs" | "assets", name: string) => {
  const object = await driver.read(area, name);
  return object ? new TextDecoder().decode(await readAllBytes(object.body)) : null;
};

export function testStorageDriver(options: ConformanceOptions): void {
  describe(`storage conformance: ${options.name}`, () => {
    let sut: DriverUnderTest;
    let clockMs = 0;
    /** Moves the driver's wall clock on, as if that many seconds had passed. */
    const advance = (seconds: number) => {
      clockMs += seconds * 1000;
    };
    beforeEach(async () => {
      clockMs = Date.now();
      sut = await options.create({ wallClock: () => clockMs });
    });
    afterEach(async () => {
      await sut.cleanup();
    });

    it("reads back exactly what was written, with size and modification time", async () => {
      const before = Date.now() - 2000;
      expect(await sut.driver.write("configs", "aa-bb-cc-dd-ee-ff.json", bytes('{"a":1}'))).toBe("created");
      const object = await sut.driver.read("configs", "aa-bb-cc-dd-ee-ff.json");
      expect(object?.size).toBe(7);
      expect(object?.lastModified.getTime()).toBeGreaterThan(before);
      expect(new TextDecoder().decode(await readAllBytes(object!.body))).toBe('{"a":1}');
    });

    it("returns null for an absent object", async () => {
      expect(await sut.driver.read("assets", "missing.bin")).toBeNull();
    });

    it("keeps the two areas apart", async () => {
      await sut.driver.write("assets", "same.json", bytes("asset"));
      expect(await sut.driver.read("configs", "same.json")).toBeNull();
      expect(await sut.driver.list("configs")).not.toContain("same.json");
    });

    it("replaces on overwrite and reports created vs replaced", async () => {
      expect(await sut.driver.write("assets", "fw.bin", bytes("one"))).toBe("created");
      expect(await sut.driver.write("assets", "fw.bin", bytes("two"))).toBe("replaced");
      expect(await text(sut.driver, "assets", "fw.bin")).toBe("two");
    });

    it("refuses ifAbsent when the object exists, leaving it untouched", async () => {
      await sut.driver.write("configs", "x.json", bytes("first"));
      expect(await sut.driver.write("configs", "x.json", bytes("second"), { ifAbsent: true })).toBe("exists");
      expect(await text(sut.driver, "configs", "x.json")).toBe("first");
    });

    it.skipIf(options.skipExclusiveCreate !== undefined)(
      `lets exactly one of 20 concurrent ifAbsent creates win${options.skipExclusiveCreate ? ` (SKIPPED: ${options.skipExclusiveCreate})` : ""}`,
      async () => {
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            sut.driver.write("configs", "race.json", bytes(`writer-${i}`), { ifAbsent: true }),
          ),
        );
        expect(outcomes.filter((o) => o === "created")).toHaveLength(1);
        expect(outcomes.filter((o) => o === "exists")).toHaveLength(19);
        const winner = outcomes.indexOf("created");
        expect(await text(sut.driver, "configs", "race.json")).toBe(`writer-${winner}`);
      },
    );

    it("leaves one complete body after 30 concurrent overwrites, and no temporary objects", async () => {
      const bodies = Array.from({ length: 30 }, (_, i) => `body-${i}-${"x".repeat(1000 * (i + 1))}`);
      await Promise.all(bodies.map((b) => sut.driver.write("configs", "busy.json", bytes(b))));
      expect(bodies).toContain(await text(sut.driver, "configs", "busy.json"));
      if (sut.rawNames) expect(await sut.rawNames("configs")).toEqual(["busy.json"]);
    });

    it("streams a staged write that is invisible until commit", async () => {
      const staged = await sut.driver.stage("assets", "big.bin");
      const chunk = new Uint8Array(64 * 1024).fill(7);
      for (let i = 0; i < 16; i++) await staged.write(chunk);
      expect(await sut.driver.read("assets", "big.bin")).toBeNull();
      expect(await sut.driver.list("assets")).not.toContain("big.bin");
      expect(await staged.commit()).toEqual({ outcome: "created", size: 16 * 64 * 1024 });
      const object = await sut.driver.read("assets", "big.bin");
      expect(object?.size).toBe(16 * 64 * 1024);
      const read = await readAllBytes(object!.body);
      expect(read.every((b) => b === 7)).toBe(true);
    });

    it("leaves nothing behind when a staged write is aborted", async () => {
      await sut.driver.write("assets", "keep.bin", bytes("old"));
      const staged = await sut.driver.stage("assets", "keep.bin");
      await staged.write(bytes("new content"));
      await staged.abort();
      await staged.abort(); // idempotent
      expect(await text(sut.driver, "assets", "keep.bin")).toBe("old");
      expect(await sut.driver.list("assets")).toEqual(["keep.bin"]);
      if (sut.rawNames) expect(await sut.rawNames("assets")).toEqual(["keep.bin"]);
    });

    it("removes objects and reports whether something was removed", async () => {
      await sut.driver.write("configs", "gone.json", bytes("{}"));
      expect(await sut.driver.remove("configs", "gone.json")).toBe(true);
      expect(await sut.driver.remove("configs", "gone.json")).toBe(false);
      expect(await sut.driver.read("configs", "gone.json")).toBeNull();
    });

    it("lists the names of an area", async () => {
      await sut.driver.write("configs", "b.json", bytes("{}"));
      await sut.driver.write("configs", "a.json", bytes("{}"));
      expect((await sut.driver.list("configs")).sort()).toEqual(["a.json", "b.json"]);
      expect(await sut.driver.list("assets")).toEqual([]);
    });

    it("lets a reader cancel a body without consuming it", async () => {
      await sut.driver.write("assets", "partial.bin", new Uint8Array(512 * 1024));
      const object = await sut.driver.read("assets", "partial.bin");
      await object!.body.cancel();
      expect(await text(sut.driver, "assets", "partial.bin")).toHaveLength(512 * 1024);
    });

    it("reports the SHA-256 of the whole object, after writes, overwrites and staged writes", async () => {
      const { createHash } = await import("node:crypto");
      const hex = (t: string | Uint8Array) => createHash("sha256").update(t).digest("hex");
      await sut.driver.write("configs", "h.json", bytes("one"));
      expect((await sut.driver.read("configs", "h.json"))?.sha256).toBe(hex("one"));
      await sut.driver.write("configs", "h.json", bytes("two"));
      const two = await sut.driver.read("configs", "h.json");
      await two?.body.cancel();
      expect(two?.sha256).toBe(hex("two"));
      const staged = await sut.driver.stage("assets", "h.bin");
      const data = new Uint8Array(300_000).map((_, i) => i % 253);
      await staged.write(data.subarray(0, 100_000));
      await staged.write(data.subarray(100_000));
      await staged.commit();
      const object = await sut.driver.read("assets", "h.bin");
      expect(object?.sha256).toBe(hex(data));
      // Read to the end, not cancelled: cancelling is the test above (on R2, workerd logs each cancelled stream).
      expect(await readAllBytes(object!.body)).toEqual(data);
    });

    it("reads a byte range, reporting the whole object's size and hash", async () => {
      const data = new Uint8Array(200_000).map((_, i) => i % 251);
      await sut.driver.write("assets", "r.bin", data);
      const whole = await sut.driver.read("assets", "r.bin");
      expect(await readAllBytes(whole!.body)).toEqual(data);
      const part = await sut.driver.read("assets", "r.bin", { range: { offset: 70_000, length: 100_001 } });
      expect(part?.size).toBe(200_000);
      expect(part?.sha256).toBe(whole?.sha256);
      expect(await readAllBytes(part!.body)).toEqual(data.subarray(70_000, 170_001));
      const tail = await sut.driver.read("assets", "r.bin", { range: { offset: 199_999, length: 1 } });
      expect(await readAllBytes(tail!.body)).toEqual(data.subarray(199_999));
    });

    it("hashes a staged write as it streams: digest() before commit is the stored object's SHA-256", async () => {
      const staged = await sut.driver.stage("assets", "digest.bin");
      const chunks = [bytes("first chunk "), bytes("second chunk "), new Uint8Array(70_000).fill(7)];
      for (const chunk of chunks) await staged.write(chunk);
      const digest = await staged.digest();
      expect(digest).toMatch(/^[0-9a-f]{64}$/);
      // Writing after the digest would make it a lie: refused.
      await expect(staged.write(bytes("late"))).rejects.toThrow();
      await staged.commit();
      const whole = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let offset = 0;
      for (const chunk of chunks) {
        whole.set(chunk, offset);
        offset += chunk.length;
      }
      expect(digest).toBe(createHash("sha256").update(whole).digest("hex"));
      const stored = await sut.driver.read("assets", "digest.bin");
      expect(stored?.sha256).toBe(digest);
      expect(await readAllBytes(stored!.body)).toEqual(whole);
    });

    it("claims a one-time key exactly once, also among 20 concurrent claimers, and releases it", async () => {
      const key = "ab".repeat(32);
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => sut.driver.claimOnce(key, 600)));
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      expect(await sut.driver.claimOnce(key, 600)).toBe(false);
      expect(await sut.driver.claimOnce("cd".repeat(32), 600)).toBe(true);
      await sut.driver.releaseClaim(key);
      expect(await sut.driver.claimOnce(key, 600)).toBe(true);
      // Markers are not objects of either area.
      expect(await sut.driver.list("assets")).toEqual([]);
      expect(await sut.driver.list("configs")).toEqual([]);
      await expect(sut.driver.claimOnce("../escape", 600)).rejects.toThrow();
    });

    it("keeps each one-time marker until its own expiry, even when a claim with a shorter retention sweeps", async () => {
      // Two servers sharing the storage: one with TIMESTAMP_TOLERANCE_SECONDS=3600 (markers
      // kept 2 × 3600 + 60 s), one with 5 (kept 70 s). Issue 16: the short one swept both.
      const claimOnce = (key: string, retainSeconds: number) => sut.driver.claimOnce(key, retainSeconds);
      const long = "1a".repeat(32);
      const short = "2b".repeat(32);
      expect(await claimOnce(long, 7260)).toBe(true);
      expect(await claimOnce(short, 70)).toBe(true);
      // Past the short marker's expiry and every driver's sweep interval (R2's is 10 min).
      advance(660);
      expect(await claimOnce("3c".repeat(32), 70)).toBe(true);
      expect(await claimOnce(long, 70)).toBe(false);
      // The short one has expired and is forgotten: markers do not pile up.
      expect(await claimOnce(short, 70)).toBe(true);
      // Past the long marker's own expiry, the next sweep forgets it too.
      advance(7260);
      expect(await claimOnce("4d".repeat(32), 70)).toBe(true);
      expect(await claimOnce(long, 70)).toBe(true);
    });

    it("passes its health check when usable", async () => {
      await expect(sut.driver.check()).resolves.toBeUndefined();
    });
  });
}
