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
