/**
 * Loads the upload-verification key with Web Crypto only, so the same code runs on
 * Node, Deno, Bun and Workers. Accepts PEM PKCS#8 and PKCS#1 private keys and SPKI
 * (and PKCS#1) public keys; only the public half is kept. Messages never include
 * key material.
 */

export class SigningKeyError extends Error {
  readonly code = "INVALID_SIGNING_KEY";
}

const ALGORITHM = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;

// DER helpers: just enough ASN.1 to wrap PKCS#1 bodies into PKCS#8 / SPKI envelopes,
// because Web Crypto imports only the latter.
const derLength = (n: number): number[] => {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
};
const der = (tag: number, ...parts: Uint8Array[]): Uint8Array => {
  const length = parts.reduce((sum, p) => sum + p.length, 0);
  const header = [tag, ...derLength(length)];
  const out = new Uint8Array(header.length + length);
  out.set(header, 0);
  let offset = header.length;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
};
// SEQUENCE { OID 1.2.840.113549.1.1.1 (rsaEncryption), NULL }
const RSA_ALGORITHM_ID = new Uint8Array([
  0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
]);
const pkcs1PrivateToPkcs8 = (body: Uint8Array) =>
  der(0x30, new Uint8Array([0x02, 0x01, 0x00]), RSA_ALGORITHM_ID, der(0x04, body));
const pkcs1PublicToSpki = (body: Uint8Array) => der(0x30, RSA_ALGORITHM_ID, der(0x03, new Uint8Array([0x00]), body));

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

interface PemBlock {
  label: string;
  der: Uint8Array;
}

function readPem(pem: string): PemBlock {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!match) throw new SigningKeyError("signing key is not a PEM block (-----BEGIN ...----- / -----END ...-----)");
  const label = match[1] as string;
  const body = (match[2] as string).replace(/\s+/g, "");
  if (/^Proc-Type:|:/.test(body)) throw new SigningKeyError("encrypted PEM keys are not supported; decrypt it first");
  try {
    return { label, der: decodeBase64(body) };
  } catch (error) {
    throw new SigningKeyError("signing key PEM body is not valid base64", { cause: error });
  }
}

const toBuffer = (bytes: Uint8Array): ArrayBuffer =>
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

async function importPublicFromPrivate(pkcs8: Uint8Array): Promise<CryptoKey> {
  const privateKey = await crypto.subtle.importKey("pkcs8", toBuffer(pkcs8), ALGORITHM, true, ["sign"]);
  // Web Crypto cannot derive a public key directly; the JWK export carries n and e.
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  return crypto.subtle.importKey("jwk", { kty: "RSA", n: jwk.n, e: jwk.e, ext: true }, ALGORITHM, true, ["verify"]);
}

/** Shorter RSA keys are factorable with public effort (768 bits was factored in 2009; 1024 is deprecated by NIST). */
export const MIN_RSA_BITS = 2048;

/**
 * Every tool makes keys with 65537. With e = 1 a signature is the padded message itself, so anyone
 * forges one; other small exponents have known attacks on PKCS#1 v1.5 verifiers; an even exponent
 * is not an RSA key at all. Web Crypto imports all of them (Node, Deno and Bun do), so we check.
 */
export const MIN_RSA_EXPONENT = 65_537n;

const MAKE_ONE = "make one with: openssl genrsa -out signing-key.pem 3072";

const toBigInt = (bytes: Uint8Array): bigint => bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);

/** Why a public exponent is refused, or undefined when it is fine. */
function exponentProblem(exponent: bigint): string | undefined {
  if (exponent % 2n === 1n && exponent >= MIN_RSA_EXPONENT) return undefined;
  // A hand-made key may carry any number here; a long one is described rather than printed.
  const shown = exponent < 2n ** 64n ? String(exponent) : `a ${exponent.toString(2).length}-bit number`;
  const why =
    exponent === 1n
      ? "with 1 anyone can forge a signature"
      : exponent % 2n === 0n
        ? "an even exponent makes no RSA key"
        : "small exponents weaken RSA signatures";
  return `the RSA key's public exponent is ${shown}; it must be odd and at least ${MIN_RSA_EXPONENT} (${why}; ${MAKE_ONE})`;
}

/** Imports the verification (public) key from any supported PEM form; refuses keys under 2048 bits and weak exponents. */
export async function importVerificationKey(pem: string): Promise<CryptoKey> {
  const key = await importAnyVerificationKey(pem);
  const { modulusLength: bits, publicExponent } = key.algorithm as RsaHashedKeyAlgorithm;
  if (bits < MIN_RSA_BITS) {
    throw new SigningKeyError(`the RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required (${MAKE_ONE})`);
  }
  const problem = exponentProblem(toBigInt(publicExponent));
  if (problem) throw new SigningKeyError(problem);
  return key;
}

async function importAnyVerificationKey(pem: string): Promise<CryptoKey> {
  const block = readPem(pem);
  try {
    switch (block.label) {
      case "PRIVATE KEY":
        return await importPublicFromPrivate(block.der);
      case "RSA PRIVATE KEY":
        return await importPublicFromPrivate(pkcs1PrivateToPkcs8(block.der));
      case "PUBLIC KEY":
        return await crypto.subtle.importKey("spki", toBuffer(block.der), ALGORITHM, true, ["verify"]);
      case "RSA PUBLIC KEY":
        return await crypto.subtle.importKey("spki", toBuffer(pkcs1PublicToSpki(block.der)), ALGORITHM, true, [
          "verify",
        ]);
      case "ENCRYPTED PRIVATE KEY":
        throw new SigningKeyError("encrypted private keys are not supported; decrypt it first");
      default:
        throw new SigningKeyError(`unsupported PEM block "${block.label}"; expected an RSA private or public key`);
    }
  } catch (error) {
    if (error instanceof SigningKeyError) throw error;
    // Web Crypto's message is generic (no key bytes), but we keep our own wording.
    throw new SigningKeyError(`signing key is not a usable RSA key (${block.label})`, { cause: error });
  }
}

/** Base64 (standard or URL-safe alphabet, padding optional) → bytes, or undefined when malformed. */
export function decodeSignature(text: string): Uint8Array | undefined {
  const compact = text.replace(/\s+/g, "");
  if (compact.length === 0 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) return undefined;
  const standard = compact.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  if (standard.length % 4 === 1) return undefined;
  try {
    return decodeBase64(standard.padEnd(Math.ceil(standard.length / 4) * 4, "="));
  } catch {
    // atob's only failure mode is malformed input, which the caller reports as a bad signature.
    return undefined;
  }
}

/** RSA PKCS#1 v1.5 SHA-256 over the exact UTF-8 bytes of `message`. */
export async function verifySignature(key: CryptoKey, message: string, signature: Uint8Array): Promise<boolean> {
  return crypto.subtle.verify(ALGORITHM, key, toBuffer(signature), toBuffer(new TextEncoder().encode(message)));
}
