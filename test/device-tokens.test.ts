/**
 * The device token table (features/devices/token-registry.ts) over real state records:
 * issue, rotate without lockout, revoke, and what a second process sharing the storage
 * sees and when. Two registries over one filesystem STATE_DIR stand for two processes
 * (each its own driver instance, as each process has); a clock the test steps stands for
 * the passing of the refresh bound, so nothing waits.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import type { StorageDriver } from "../src/core/storage.js";
import { deviceTokenHash } from "../src/features/devices/token-format.js";
import {
  createDeviceTokens,
  type DeviceTokens,
  REFRESH_MS,
  TOKENS_NAMESPACE,
} from "../src/features/devices/token-registry.js";
import { createFsStorage } from "../src/plugins/storage/fs.js";

const A = "aa-bb-cc-00-00-0a";
const B = "aa-bb-cc-00-00-0b";
const roots: string[] = [];
const drivers: StorageDriver[] = [];
const registries: DeviceTokens[] = [];
afterEach(async () => {
  // A rotation's older tokens are deleted in the background: done before the directory goes.
  for (const tokens of registries.splice(0)) await tokens.settled();
  for (const driver of drivers.splice(0)) await driver.dispose?.();
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

async function sharedRoot() {
  const root = await mkdtemp(join(tmpdir(), "iot-tokens-"));
  roots.push(root);
  return root;
}

/** One "process": its own driver over the shared directories, and its own registry and clock. */
async function processOn(root: string) {
  const driver = await createFsStorage({
    configsDir: join(root, "configs"),
    assetsDir: join(root, "assets"),
    stateDir: join(root, "state"),
    logger: createMemoryLogger(),
    watch: false,
  });
  drivers.push(driver);
  let time = 1_000_000;
  const tokens = createDeviceTokens({ state: driver.state, logger: createMemoryLogger(), now: () => time });
  registries.push(tokens);
  return {
    driver,
    tokens,
    step: (ms: number) => {
      time += ms;
    },
    /** What a request sees: the table refreshed if due, then the token looked up. */
    read: async (token: string) => {
      await tokens.freshness();
      return tokens.macOf(token);
    },
  };
}

describe("device tokens", () => {
  it("issues a 256-bit token bound to its MAC, keeps only its hash, and knows it from memory", async () => {
    const p = await processOn(await sharedRoot());
    const { token, issuedAt } = await p.tokens.issue(A);
    expect(token).toMatch(/^iotd_[A-Za-z0-9_-]{43}$/);
    expect(Math.abs(issuedAt.getTime() - 1_000_000)).toBeLessThan(5);
    expect(await p.read(token)).toBe(A);
    expect(await p.read(`${token}x`)).toBeUndefined();
    const keys = await p.driver.state.list(TOKENS_NAMESPACE);
    expect(keys).toEqual([`${A}.${issuedAt.getTime()}.${deviceTokenHash(token)}`]);
    expect(JSON.stringify(keys)).not.toContain(token);
  });

  it("rotates without lockout: the previous token works until the new one is used once, then only the new", async () => {
    const p = await processOn(await sharedRoot());
    const first = await p.tokens.issue(A);
    p.step(10);
    const second = await p.tokens.issue(A);
    expect(await p.read(first.token)).toBe(A);
    expect(await p.read(first.token)).toBe(A);
    expect(await p.read(second.token)).toBe(A);
    expect(await p.read(first.token)).toBeUndefined();
    expect(await p.read(second.token)).toBe(A);
    // Gone from storage too: a restart (a new process) knows only the new token.
    await new Promise((done) => setTimeout(done, 50));
    const restarted = await processOn(roots[0] as string);
    expect(await restarted.read(first.token)).toBeUndefined();
    expect(await restarted.read(second.token)).toBe(A);
  });

  it("a third token issued before the second was used replaces the second; the first still works", async () => {
    const p = await processOn(await sharedRoot());
    const first = await p.tokens.issue(A);
    p.step(10);
    const second = await p.tokens.issue(A);
    p.step(10);
    const third = await p.tokens.issue(A);
    expect(await p.read(second.token)).toBeUndefined();
    expect(await p.read(first.token)).toBe(A);
    expect(await p.read(third.token)).toBe(A);
    expect(await p.read(first.token)).toBeUndefined();
  });

  it("revokes every token of one device, at once in the process that revoked, and leaves others alone", async () => {
    const p = await processOn(await sharedRoot());
    const a1 = await p.tokens.issue(A);
    p.step(10);
    const a2 = await p.tokens.issue(A);
    const b = await p.tokens.issue(B);
    expect(await p.tokens.revoke(A)).toBe(2);
    expect(await p.read(a1.token)).toBeUndefined();
    expect(await p.read(a2.token)).toBeUndefined();
    expect(await p.read(b.token)).toBe(B);
    expect(await p.tokens.revoke(A)).toBe(0);
  });

  it("another process sharing the storage sees an issue and a revocation once its refresh bound has passed", async () => {
    const root = await sharedRoot();
    const one = await processOn(root);
    const two = await processOn(root);
    const { token } = await one.tokens.issue(A);
    expect(await two.read(token)).toBe(A);
    await one.tokens.revoke(A);
    // Within the bound the second process may still answer from what it holds…
    two.step(REFRESH_MS - 1);
    expect(await two.read(token)).toBe(A);
    // …and from the bound on, never.
    two.step(1);
    expect(await two.read(token)).toBeUndefined();
  });

  it("ignores records in its namespace that are not token keys (placed there by others)", async () => {
    const p = await processOn(await sharedRoot());
    await p.driver.state.put(TOKENS_NAMESPACE, "junk", new Uint8Array(0), { track: true });
    await p.driver.state.put(TOKENS_NAMESPACE, `${A}.1.${"z".repeat(64)}`, new Uint8Array(0), { track: true });
    const { token } = await p.tokens.issue(B);
    expect(await p.read(token)).toBe(B);
    expect(p.tokens.devices()).toBe(1);
  });
});
