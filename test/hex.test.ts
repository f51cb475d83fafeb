/** The hex every ETag and signature key is made of: the same as Node's own, for every byte value. */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sha256Hex, toHex } from "../src/core/storage.js";

describe("toHex and sha256Hex", () => {
  it("spell every byte value as Node's hex does, from a Uint8Array or an ArrayBuffer", async () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const expected = Buffer.from(all).toString("hex");
    expect(toHex(all)).toBe(expected);
    expect(toHex(all.buffer)).toBe(expected);
    expect(toHex(new Uint8Array(0))).toBe("");
    const data = new TextEncoder().encode('{"deviceName":"esp32"}');
    expect(await sha256Hex(data)).toBe(createHash("sha256").update(data).digest("hex"));
  });
});
