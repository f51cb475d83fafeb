/** Real RSA keys for tests, made with node:crypto (independent of the Web Crypto code under test). */
import { createSign, generateKeyPairSync } from "node:crypto";

export interface TestKeys {
  pkcs8: string;
  pkcs1: string;
  spki: string;
  pkcs1Public: string;
  sign(message: string): string;
}

let cached: TestKeys | undefined;

export function testKeys(): TestKeys {
  if (cached) return cached;
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  cached = {
    pkcs8: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    pkcs1: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    spki: publicKey.export({ type: "spki", format: "pem" }).toString(),
    pkcs1Public: publicKey.export({ type: "pkcs1", format: "pem" }).toString(),
    sign(message) {
      return createSign("sha256").update(message, "utf8").sign(privateKey).toString("base64");
    },
  };
  return cached;
}

/** A fresh RSA key pair in the three PEM forms a server may be given. */
export function rsaKeyForms(bits: number, publicExponent = 65_537) {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: bits, publicExponent });
  return {
    pkcs8: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    pkcs1: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    spki: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

// Just enough DER to write an SPKI: node:crypto and openssl refuse to make keys with e = 1 or an even e.
const derLength = (n: number): Buffer => {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = Buffer.from(n.toString(16).padStart(n > 0xff ? 4 : 2, "0"), "hex");
  return Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes]);
};
const der = (tag: number, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
};
const derInteger = (value: Buffer) =>
  der(0x02, (value[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value);
const RSA_ALGORITHM_ID = Buffer.from("300d06092a864886f70d0101010500", "hex");

/**
 * An RSA public key (SPKI PEM) with a real 2048-bit modulus and any public exponent, built
 * byte by byte for the exponents no key generator will produce.
 */
export function publicKeyWithExponent(exponent: bigint): string {
  const hex = exponent.toString(16);
  const e = Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex");
  const { n } = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" });
  const rsaPublicKey = der(0x30, derInteger(Buffer.from(n as string, "base64url")), derInteger(e));
  const spki = der(0x30, RSA_ALGORITHM_ID, der(0x03, Buffer.from([0]), rsaPublicKey));
  const lines = spki.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join("\n")}\n-----END PUBLIC KEY-----\n`;
}
