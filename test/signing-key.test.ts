import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  decodeSignature,
  importVerificationKey,
  SigningKeyError,
  verifySignature,
} from "../src/features/assets/signing-key.js";
import { publicKeyWithExponent, rsaKeyForms, testKeys } from "./support/keys.js";

const keys = testKeys();
const TIMESTAMP = "2026-01-15T12:30:45.123456+00:00";

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** The base64 lines of a PEM (its key material), which no error may repeat. */
const materialLines = (pem: string) =>
  pem
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length >= 8 && !l.startsWith("-----") && !l.includes(":"));

async function expectKeyError(pem: string, message: RegExp) {
  const error = await rejection(importVerificationKey(pem));
  expect(error).toBeInstanceOf(SigningKeyError);
  expect((error as SigningKeyError).code).toBe("INVALID_SIGNING_KEY");
  const text = (error as Error).message;
  expect(text).toMatch(message);
  for (const line of materialLines(pem)) expect(text).not.toContain(line);
  expect(text).not.toContain("\n");
}

const toSignature = (base64: string): Uint8Array => {
  const bytes = decodeSignature(base64);
  if (!bytes) throw new Error("test signature did not decode");
  return bytes;
};

describe("importVerificationKey", () => {
  it.each([
    ["PKCS#8 private key", keys.pkcs8],
    ["PKCS#1 private key", keys.pkcs1],
    ["SPKI public key", keys.spki],
    ["PKCS#1 public key", keys.pkcs1Public],
  ])("accepts a %s and verifies node:crypto signatures with it", async (_label, pem) => {
    const key = await importVerificationKey(pem);
    // Only the public half is kept, whatever was given.
    expect(key.type).toBe("public");
    expect(key.usages).toEqual(["verify"]);
    expect(key.algorithm).toMatchObject({ name: "RSASSA-PKCS1-v1_5", hash: { name: "SHA-256" } });

    const signature = toSignature(keys.sign(TIMESTAMP));
    expect(await verifySignature(key, TIMESTAMP, signature)).toBe(true);
    expect(await verifySignature(key, "2026-01-15T12:30:46.123456+00:00", signature)).toBe(false);
    expect(await verifySignature(key, `${TIMESTAMP} `, signature)).toBe(false);

    const tampered = signature.slice();
    tampered[100] = (tampered[100] as number) ^ 0x01;
    expect(await verifySignature(key, TIMESTAMP, tampered)).toBe(false);
    expect(await verifySignature(key, TIMESTAMP, signature.slice(0, 255))).toBe(false);
  });

  it("verifies over the exact UTF-8 bytes of the message", async () => {
    const key = await importVerificationKey(keys.spki);
    const message = "2026-01-15T12:30:45+00:00 ✓ é";
    const signature = toSignature(keys.sign(message));
    expect(await verifySignature(key, message, signature)).toBe(true);
    expect(await verifySignature(key, message.normalize("NFD"), signature)).toBe(false);
  });

  it("rejects a signature made with another key", async () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const key = await importVerificationKey(other.publicKey.export({ type: "spki", format: "pem" }).toString());
    expect(await verifySignature(key, TIMESTAMP, toSignature(keys.sign(TIMESTAMP)))).toBe(false);
  });

  it("finds the PEM block among other text and with CRLF line ends", async () => {
    const pem = `Bag Attributes: something\r\n${keys.pkcs8.replace(/\n/g, "\r\n")}\r\ntrailing notes\r\n`;
    const key = await importVerificationKey(pem);
    expect(await verifySignature(key, TIMESTAMP, toSignature(keys.sign(TIMESTAMP)))).toBe(true);
  });

  it("rejects text that is not PEM", async () => {
    await expectKeyError("", /not a PEM block/);
    await expectKeyError("just some text", /not a PEM block/);
    const body = keys.spki.replace(/-----[A-Z ]+-----/g, "");
    await expectKeyError(body, /not a PEM block/);
    await expectKeyError(keys.spki.replace("END PUBLIC KEY", "END PRIVATE KEY"), /not a PEM block/);
  });

  it("rejects a PEM body that is not base64", async () => {
    await expectKeyError("-----BEGIN PUBLIC KEY-----\nMIIB!!!*\n-----END PUBLIC KEY-----\n", /not valid base64/);
  });

  it.each([
    ["PRIVATE KEY", keys.pkcs8],
    ["RSA PRIVATE KEY", keys.pkcs1],
    ["PUBLIC KEY", keys.spki],
    ["RSA PUBLIC KEY", keys.pkcs1Public],
  ])("rejects a %s block holding damaged DER, without repeating it", async (label, pem) => {
    // Cut the key's DER in half: valid base64, invalid key.
    const lines = materialLines(pem);
    const half = lines.slice(0, Math.floor(lines.length / 2)).join("\n");
    await expectKeyError(`-----BEGIN ${label}-----\n${half}\n-----END ${label}-----\n`, /not a usable RSA key/);
  });

  it("rejects encrypted keys, PKCS#8 and traditional, without repeating them", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pkcs8 = privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "x" });
    expect(pkcs8.toString()).toContain("ENCRYPTED PRIVATE KEY");
    await expectKeyError(pkcs8.toString(), /encrypted/);
    const pkcs1 = privateKey.export({ type: "pkcs1", format: "pem", cipher: "aes-256-cbc", passphrase: "x" });
    expect(pkcs1.toString()).toContain("Proc-Type: 4,ENCRYPTED");
    await expectKeyError(pkcs1.toString(), /encrypted/);
  });

  it("rejects EC keys in every PEM form", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    await expectKeyError(privateKey.export({ type: "sec1", format: "pem" }).toString(), /unsupported PEM block/);
    await expectKeyError(privateKey.export({ type: "pkcs8", format: "pem" }).toString(), /not a usable RSA key/);
    await expectKeyError(publicKey.export({ type: "spki", format: "pem" }).toString(), /not a usable RSA key/);
  });

  it.each([512, 1024, 2047])(
    "refuses a %i-bit RSA key in every PEM form, saying how many bits are required",
    async (bits) => {
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: bits });
      for (const pem of [
        privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
        publicKey.export({ type: "spki", format: "pem" }).toString(),
      ]) {
        await expectKeyError(pem, new RegExp(`has ${bits} bits; at least 2048`));
      }
    },
  );

  it.each([
    [1n, "1"],
    [2n, "2"],
    [3n, "3"],
    [65_535n, "65535"],
    [65_538n, "65538"],
    [2n ** 80n, "a 81-bit number"],
  ])("refuses a public exponent of %s, naming it and the rule", async (exponent, shown) => {
    const pem = publicKeyWithExponent(exponent);
    await expectKeyError(pem, new RegExp(`public exponent is ${shown}; it must be odd and at least 65537`));
  });

  it("says why e = 1 is refused: anyone can forge a signature", async () => {
    await expectKeyError(publicKeyWithExponent(1n), /with 1 anyone can forge a signature/);
  });

  it("refuses a real e = 3 key (as openssl genpkey -pkeyopt rsa_keygen_pubexp:3 makes) in every PEM form", async () => {
    const forms = rsaKeyForms(2048, 3);
    for (const pem of [forms.pkcs8, forms.pkcs1, forms.spki]) {
      await expectKeyError(pem, /public exponent is 3; it must be odd and at least 65537/);
    }
  });

  it("accepts a large odd exponent", async () => {
    const key = await importVerificationKey(publicKeyWithExponent(2n ** 32n + 1n));
    expect((key.algorithm as RsaHashedKeyAlgorithm).publicExponent).toEqual(new Uint8Array([1, 0, 0, 0, 1]));
  });

  it("rejects other PEM blocks such as certificates", async () => {
    await expectKeyError("-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----", /unsupported PEM block/);
  });
});

describe("decodeSignature", () => {
  // 0xfb 0xff 0xbf encodes to characters that differ between the two alphabets.
  const special = [0xfb, 0xff, 0xbf, 0xfe];

  it("decodes the standard and the URL-safe alphabets", () => {
    expect(Array.from(toSignature("+/+//g=="))).toEqual(special);
    expect(Array.from(toSignature("-_-__g=="))).toEqual(special);
    expect(Array.from(toSignature("QUJD"))).toEqual([65, 66, 67]);
  });

  it("accepts missing padding", () => {
    expect(Array.from(toSignature("-_-__g"))).toEqual(special);
    expect(Array.from(toSignature("QQ"))).toEqual([65]);
    expect(Array.from(toSignature("QUI"))).toEqual([65, 66]);
    expect(Array.from(toSignature("QUI="))).toEqual([65, 66]);
  });

  it("ignores whitespace, such as MIME line breaks", () => {
    const signature = keys.sign(TIMESTAMP);
    const wrapped = `  ${signature.replace(/(.{76})/g, "$1\r\n")}\n\t`;
    expect(Buffer.from(toSignature(wrapped)).toString("base64")).toBe(signature);
    expect(Array.from(toSignature("Q U\nJ D"))).toEqual([65, 66, 67]);
  });

  it.each(["", "   \n", "Q", "QUJDR", "QQ===", "=QQ", "Q=Q=", "QU*D", "QUJD.", "a%3D", "Zm9v\u00e9"])(
    "refuses %j",
    (text) => {
      expect(decodeSignature(text)).toBeUndefined();
    },
  );
});
