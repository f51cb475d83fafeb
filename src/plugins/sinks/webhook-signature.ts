/**
 * The webhook signature, on Web Crypto so it runs on every runtime (Workers included):
 *
 *   X-IoT-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(WEBHOOK_SECRET, "<t>.<body>")>
 *
 * The timestamp is signed together with the body, so a receiver can check both origin
 * (the HMAC) and freshness (|now − t| small), and a captured request cannot be replayed
 * later under a new timestamp. `v1` names the scheme, leaving room for another later.
 */

export const SIGNATURE_HEADER = "X-IoT-Signature";

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

export type Signer = (unixSeconds: number, body: string) => Promise<string>;

/** Returns a function producing the header's value; the key is imported once, on first use. */
export function createSigner(secret: string): Signer {
  const encoder = new TextEncoder();
  let key: Promise<CryptoKey> | undefined;
  return async (unixSeconds, body) => {
    key ??= crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = await crypto.subtle.sign("HMAC", await key, encoder.encode(`${unixSeconds}.${body}`));
    return `t=${unixSeconds},v1=${hex(mac)}`;
  };
}
