/**
 * Slots for request bodies that take a while: uploads (each holds a staged file and a
 * connection), and config bodies that did not arrive at once. A flood of slow bodies
 * must not exhaust either, and — the point of the per-client share — must not lock
 * everyone else out: without it, eight connections trickling one byte every 20 s held
 * every upload slot, without credentials, for as long as they stayed open.
 *
 * - At most `total` slots at once; past it, 503 SERVER_BUSY with Retry-After.
 * - A body whose sender is not yet proven (an upload before its signature is verified, a
 *   config PUT without admin authentication) counts against its client's share: at most
 *   `perClient` such slots per client address (an IPv6 client by its /64, which one
 *   subscriber usually holds whole). Once proven, a slot leaves the share.
 * - Unproven bodies must also keep a minimum rate (body-guard.ts), so holding even a
 *   client's share costs real bandwidth, and a slot is freed within seconds of a trickle.
 */
import { AppError } from "../../core/errors.js";

/** Seconds a refused client is told to wait: about how long a typical firmware upload takes on a LAN. */
export const RETRY_AFTER_SECONDS = 5;

export interface SlotLimits {
  total: number;
  perClient: number;
}

export interface Slot {
  /** The sender is proven (signature verified, or an authenticated admin): the slot leaves its client's share. */
  prove(): void;
  readonly proven: boolean;
  /** Frees the slot; calling it again does nothing. */
  release(): void;
}

export interface BodySlots {
  /** Takes a slot for `client` (undefined: address unknown, counted as one client), or throws SERVER_BUSY. */
  acquire(client: string | undefined, proven?: boolean): Slot;
  /** Slots in use (for tests and health). */
  inUse(): number;
}

/** The key a client's share is counted under: an IPv4 address, or an IPv6 address's /64 prefix. */
export function clientKey(address: string | undefined): string {
  if (!address) return "unknown";
  const bare = address
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped) return mapped[1] as string;
  if (!bare.includes(":")) return bare;
  const [head = "", tail = ""] = bare.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === "" ? [] : tail.split(":");
  const missing = bare.includes("::") ? 8 - headGroups.length - tailGroups.length : 0;
  const groups = [...headGroups, ...Array<string>(Math.max(0, missing)).fill("0"), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

const busy = (message: string, details: Record<string, unknown>) =>
  new AppError("SERVER_BUSY", message, { details, headers: { "Retry-After": String(RETRY_AFTER_SECONDS) } });

export function createBodySlots(limits: SlotLimits, what: string): BodySlots {
  let used = 0;
  const unproven = new Map<string, number>();
  const leaveShare = (key: string) => {
    const left = (unproven.get(key) ?? 1) - 1;
    if (left <= 0) unproven.delete(key);
    else unproven.set(key, left);
  };

  return {
    inUse: () => used,
    acquire(client, proven = false) {
      if (used >= limits.total) {
        throw busy(`Too many ${what} in progress (at most ${limits.total}); retry in a few seconds`, {
          max_concurrent_uploads: limits.total,
        });
      }
      const key = clientKey(client);
      if (!proven && (unproven.get(key) ?? 0) >= limits.perClient) {
        throw busy(
          `Too many unauthenticated ${what} in progress from your address (at most ${limits.perClient}); retry in a few seconds`,
          { max_uploads_per_client: limits.perClient },
        );
      }
      used++;
      if (!proven) unproven.set(key, (unproven.get(key) ?? 0) + 1);
      let held = true;
      let isProven = proven;
      return {
        get proven() {
          return isProven;
        },
        prove() {
          if (!held || isProven) return;
          isProven = true;
          leaveShare(key);
        },
        release() {
          if (!held) return;
          held = false;
          used--;
          if (!isProven) leaveShare(key);
        },
      };
    },
  };
}
