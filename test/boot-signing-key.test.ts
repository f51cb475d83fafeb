/**
 * Weak signing keys stop a real Node boot with one line naming the setting the key came from
 * (SIGNING_KEY, SIGNING_KEY_PATH, or DATA_DIR for the development key) and the problem, and
 * without repeating the key: fewer than 2048 bits, or a public exponent that is even or below
 * 65537 (with e = 1 anyone forges an upload signature). Deno, Bun and Workers boot through the
 * same composition root (runtimes/root.ts), which makes the same check.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootOutcome, expectRefusal, pemBody } from "./support/boot-outcome.js";
import { publicKeyWithExponent, rsaKeyForms } from "./support/keys.js";

let root: string;
let caseNumber = 0;
/** A fresh folder for one case, under the root that afterAll removes whatever happened. */
async function caseDir(): Promise<string> {
  const dir = join(root, `case-${++caseNumber}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "iot-boot-key-"));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

type KeyVariable = "SIGNING_KEY" | "SIGNING_KEY_PATH";

/** The environment that gives the server `pem` through `variable` (a 0600 file for SIGNING_KEY_PATH). */
async function keyEnv(variable: KeyVariable, pem: string): Promise<Record<string, string>> {
  if (variable === "SIGNING_KEY") return { SIGNING_KEY: pem };
  const path = join(await caseDir(), "signing-key.pem");
  await writeFile(path, pem, { mode: 0o600 });
  return { SIGNING_KEY_PATH: path };
}

describe("RSA keys under 2048 bits", () => {
  const keys = { 512: rsaKeyForms(512), 1024: rsaKeyForms(1024) };
  type Bits = keyof typeof keys;
  type Form = "pkcs8" | "pkcs1" | "spki";
  const cases: Array<[Bits, KeyVariable, Form]> = [];
  for (const bits of [512, 1024] as const) {
    for (const form of ["pkcs8", "pkcs1", "spki"] as const) {
      cases.push([bits, "SIGNING_KEY", form], [bits, "SIGNING_KEY_PATH", form]);
    }
  }

  it.each(cases)(
    "a %i-bit key in %s (%s) is refused with one line naming the variable and the size",
    async (bits, variable, form) => {
      const pem = keys[bits][form];
      const outcome = await bootOutcome(await keyEnv(variable, pem));
      const line = expectRefusal(outcome, variable);
      expect(line).toContain(`${bits} bits`);
      expect(line).toContain("2048");
      for (const body of pemBody(pem)) expect(outcome.output).not.toContain(body);
    },
  );

  it("a 1024-bit development key already in DATA_DIR is refused naming DATA_DIR", async () => {
    const dataDir = join(await caseDir(), "data");
    await mkdir(dataDir);
    await writeFile(join(dataDir, "dev-signing-key.pem"), keys[1024].pkcs8, { mode: 0o600 });
    const outcome = await bootOutcome({ DATA_DIR: dataDir });
    expect(expectRefusal(outcome, "DATA_DIR")).toContain("1024 bits");
    for (const body of pemBody(keys[1024].pkcs8)) expect(outcome.output).not.toContain(body);
  });
});

describe("RSA public exponents that are even or below 65537", () => {
  const e3 = rsaKeyForms(2048, 3);
  it.each<[string, KeyVariable, string, string]>([
    ["e = 3, PKCS#8 private key", "SIGNING_KEY_PATH", e3.pkcs8, "3"],
    ["e = 3, PKCS#1 private key", "SIGNING_KEY", e3.pkcs1, "3"],
    ["e = 3, SPKI public key", "SIGNING_KEY_PATH", e3.spki, "3"],
    ["e = 1, SPKI public key", "SIGNING_KEY", publicKeyWithExponent(1n), "1"],
    ["e = 1, SPKI public key", "SIGNING_KEY_PATH", publicKeyWithExponent(1n), "1"],
    ["e = 2, SPKI public key", "SIGNING_KEY_PATH", publicKeyWithExponent(2n), "2"],
    ["e = 65538, SPKI public key", "SIGNING_KEY", publicKeyWithExponent(65_538n), "65538"],
  ])("%s in %s is refused with one line naming the variable and the exponent", async (_, variable, pem, shown) => {
    const outcome = await bootOutcome(await keyEnv(variable, pem));
    const line = expectRefusal(outcome, variable);
    expect(line).toContain(`public exponent is ${shown}; it must be odd and at least 65537`);
    for (const body of pemBody(pem)) expect(outcome.output).not.toContain(body);
  });
});
