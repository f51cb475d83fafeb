/**
 * The state records' conformance suite (src/core/state.ts): every storage driver's test
 * file calls `testStateStore(...)` in one line, as it calls the storage suite.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StorageDriver } from "../../src/core/storage.js";
import type { DriverContext, DriverUnderTest } from "./storage-conformance.js";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | null) => (value === null ? null : new TextDecoder().decode(value));

export function testStateStore(options: {
  name: string;
  create(context: DriverContext): Promise<DriverUnderTest>;
}): void {
  describe(`state records conformance: ${options.name}`, () => {
    let sut: DriverUnderTest;
    let driver: StorageDriver;
    beforeEach(async () => {
      sut = await options.create({ wallClock: Date.now });
      driver = sut.driver;
    });
    afterEach(async () => {
      await sut.cleanup();
    });

    it("puts, gets, lists and deletes whole records, each namespace apart", async () => {
      expect(await driver.state.get("things", "a")).toBeNull();
      expect(await driver.state.list("things")).toEqual([]);
      expect(await driver.state.put("things", "a", bytes("one"))).toBe(true);
      expect(await driver.state.put("things", "b.c_d-e", bytes("two"))).toBe(true);
      expect(await driver.state.put("others", "a", bytes("elsewhere"))).toBe(true);
      expect(text(await driver.state.get("things", "a"))).toBe("one");
      expect((await driver.state.list("things")).sort()).toEqual(["a", "b.c_d-e"]);
      // A put replaces the whole record.
      expect(await driver.state.put("things", "a", bytes("1"))).toBe(true);
      expect(text(await driver.state.get("things", "a"))).toBe("1");
      expect(await driver.state.delete("things", "a")).toBe(true);
      expect(await driver.state.delete("things", "a")).toBe(false);
      expect(await driver.state.list("things")).toEqual(["b.c_d-e"]);
      expect(text(await driver.state.get("others", "a"))).toBe("elsewhere");
    });

    it("keeps binary values byte for byte", async () => {
      const value = new Uint8Array(70_000).map((_, i) => (i * 7) % 256);
      await driver.state.put("things", "bin", value);
      expect(await driver.state.get("things", "bin")).toEqual(value);
    });

    it("ifAbsent: exactly one of concurrent creators wins, and the winner's value stays", async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => driver.state.put("locks", "wave-1", bytes(`w${i}`), { ifAbsent: true })),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(text(await driver.state.get("locks", "wave-1"))).toBe(`w${winner}`);
      expect(await driver.state.put("locks", "wave-1", bytes("late"), { ifAbsent: true })).toBe(false);
      expect(text(await driver.state.get("locks", "wave-1"))).toBe(`w${winner}`);
    });

    it("moves a namespace's version on every tracked change, and only then", async () => {
      const first = await driver.state.version("tokens");
      await driver.state.put("tokens", "a", bytes("x"));
      expect(await driver.state.version("tokens")).toBe(first);
      await driver.state.put("tokens", "b", bytes("y"), { track: true });
      const second = await driver.state.version("tokens");
      expect(second).not.toBe(first);
      await driver.state.delete("tokens", "b", { track: true });
      const third = await driver.state.version("tokens");
      expect(third).not.toBe(second);
      // A tracked delete of nothing changed nothing.
      await driver.state.delete("tokens", "absent", { track: true });
      expect(await driver.state.version("tokens")).toBe(third);
      expect(await driver.state.version("other")).toBe("");
    });

    it.each([
      ["a namespace that climbs out", "../configs", "k"],
      ["a namespace with a slash", "a/b", "k"],
      ["a key that climbs out", "things", "../../configs/aa.json"],
      ["a key with a slash", "things", "a/b"],
      ["a key like a temporary file", "things", "x.tmp"],
      ["an empty key", "things", ""],
    ])("refuses %s before touching storage", async (_, ns, key) => {
      await expect(driver.state.put(ns, key, bytes("x"))).rejects.toMatchObject({ code: "INTERNAL_ERROR" });
      await expect(driver.state.get(ns, key)).rejects.toMatchObject({ code: "INTERNAL_ERROR" });
    });
  });
}
