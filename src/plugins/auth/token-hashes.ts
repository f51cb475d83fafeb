/**
 * API tokens: the server holds only their SHA-256 hashes (API_TOKEN_HASHES and friends),
 * so a leaked configuration leaks no credential. A presented token is hashed and
 * compared with every configured hash in constant time: the comparison never stops at
 * the first differing byte nor at the first match, so timing tells nothing.
 */
import { sha256Hex } from "../../core/storage.js";

export interface TokenHashes {
  /** True when `token` hashes to one of the configured hashes. */
  accepts(token: string): Promise<boolean>;
  /** True when `token` was accepted before (no hashing); false says nothing. */
  acceptedBefore(token: string): boolean;
  readonly size: number;
}

const fromHex = (hex: string): Uint8Array =>
  Uint8Array.from(hex.match(/../g) ?? [], (byte) => Number.parseInt(byte, 16));

/** Tokens already found in the list, remembered so a polling client does not pay a hash per request. */
const ACCEPTED_LIMIT = 1000;

export function createTokenHashes(hexHashes: readonly string[]): TokenHashes {
  const hashes = hexHashes.map((hex) => fromHex(hex.toLowerCase()));
  // Only accepted tokens are remembered (a flood of wrong ones cannot fill it), and only for
  // the process's life: the list itself cannot change without a restart.
  const accepted = new Set<string>();
  return {
    size: hashes.length,
    acceptedBefore: (token) => accepted.has(token),
    async accepts(token) {
      if (accepted.has(token)) return true;
      const found = await matches(token);
      if (found) {
        accepted.add(token);
        if (accepted.size > ACCEPTED_LIMIT) accepted.delete(accepted.values().next().value as string);
      }
      return found;
    },
  };

  async function matches(token: string): Promise<boolean> {
    const presented = fromHex(await sha256Hex(new TextEncoder().encode(token)));
    let matched = 0;
    for (const hash of hashes) {
      let difference = 0;
      for (let i = 0; i < 32; i++) difference |= (hash[i] as number) ^ (presented[i] as number);
      // Branch-free: adds 1 exactly when this hash matched.
      matched |= ((difference - 1) >>> 31) & 1;
    }
    return matched === 1;
  }
}
