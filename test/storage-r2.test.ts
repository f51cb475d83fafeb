/**
 * The R2 driver inside workerd, on its local R2 bucket (vitest.workers.config.ts:
 * @cloudflare/vitest-pool-workers with the bindings of wrangler.toml). The driver runs
 * exactly as it does in the deployed Worker; only the bucket is local.
 */
import { env } from "cloudflare:workers";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isAppError } from "../src/core/errors.js";
import { createMemoryLogger } from "../src/core/logger.js";
import { LONGEST_SIGNATURE_RETAIN_SECONDS } from "../src/core/signature-retention.js";
import { readAllBytes } from "../src/core/storage.js";
import { createR2Storage, STAGING_PREFIX } from "../src/plugins/storage/r2.js";
import { LEDGER_PREFIX } from "../src/plugins/storage/r2-ledger.js";
import { testStateStore } from "./support/state-conformance.js";
import { type DriverContext, testStorageDriver } from "./support/storage-conformance.js";

type Bucket = typeof env.BUCKET;
const bucket = env.BUCKET;
const MiB = 1024 * 1024;

async function allKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ cursor });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys.sort();
}

async function emptyBucket(): Promise<void> {
  const keys = await allKeys();
  if (keys.length > 0) await bucket.delete(keys);
}

/** Keys of an area without its prefix, plus every temporary object: what a leak would show. */
async function rawNames(area: "configs" | "assets"): Promise<string[]> {
  const keys = await allKeys();
  return [
    ...keys.filter((k) => k.startsWith(`${area}/`)).map((k) => k.slice(area.length + 1)),
    ...keys.filter((k) => k.startsWith(STAGING_PREFIX)),
  ].sort();
}

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

const r2Driver = async ({ wallClock }: DriverContext) => {
  await emptyBucket();
  return {
    driver: createR2Storage({ bucket, logger: createMemoryLogger(), wallClock }),
    rawNames,
    cleanup: emptyBucket,
  };
};
testStorageDriver({ name: "r2 (inside workerd, local R2)", create: r2Driver });
testStateStore({ name: "r2 (inside workerd, local R2)", create: r2Driver });

/** Records the size of every multipart part the driver uploads. A spy on the real bucket, not a double. */
function spyOnParts(target: Bucket): { bucket: Bucket; parts: number[] } {
  const parts: number[] = [];
  const spied = Object.create(target) as Bucket;
  spied.createMultipartUpload = async (key, options) => {
    const upload = await target.createMultipartUpload(key, options);
    return {
      key: upload.key,
      uploadId: upload.uploadId,
      uploadPart: (n, value, opts) => {
        parts.push((value as Uint8Array).byteLength);
        return upload.uploadPart(n, value, opts);
      },
      abort: () => upload.abort(),
      complete: (uploaded) => upload.complete(uploaded),
    };
  };
  for (const method of ["head", "get", "put", "delete", "list"] as const) {
    (spied as unknown as Record<string, unknown>)[method] = (target[method] as (...a: unknown[]) => unknown).bind(
      target,
    );
  }
  return { bucket: spied, parts };
}

describe("r2 driver specifics", () => {
  it("streams a large upload through a temporary multipart object, holding one part in memory at a time", async () => {
    await emptyBucket();
    const spy = spyOnParts(bucket);
    const driver = createR2Storage({ bucket: spy.bucket, logger: createMemoryLogger() });
    const size = 12 * MiB + 12_345;
    const chunk = new Uint8Array(64 * 1024).map((_, i) => (i * 7) % 256);
    const hash = createHash("sha256");
    const staged = await driver.stage("assets", "firmware.bin");
    for (let written = 0; written < size; written += chunk.byteLength) {
      const piece = chunk.subarray(0, Math.min(chunk.byteLength, size - written));
      hash.update(piece);
      await staged.write(piece);
    }
    // Two full parts are uploaded, yet nothing is visible or listed.
    expect(spy.parts).toEqual([5 * MiB, 5 * MiB]);
    expect(await driver.read("assets", "firmware.bin")).toBeNull();
    expect(await allKeys()).toEqual([]);
    expect(await staged.commit()).toEqual({ outcome: "created", size });
    expect(spy.parts).toEqual([5 * MiB, 5 * MiB, size - 10 * MiB]);
    expect(await allKeys()).toEqual(["assets/firmware.bin"]);
    const object = await driver.read("assets", "firmware.bin");
    expect(object?.size).toBe(size);
    expect(object?.sha256).toBe(hash.digest("hex"));
    expect(sha256(await readAllBytes(object!.body))).toBe(object?.sha256);
    // R2 verified the hash on the copy and keeps it as its own checksum too.
    const head = await bucket.head("assets/firmware.bin");
    expect(head?.customMetadata?.sha256).toBe(object?.sha256);
    expect(head?.checksums.toJSON().sha256).toBe(object?.sha256);
  });

  it("replaces an existing asset with a large upload and reports it", async () => {
    await emptyBucket();
    const driver = createR2Storage({ bucket, logger: createMemoryLogger() });
    await driver.write("assets", "fw.bin", new Uint8Array([1, 2, 3]));
    const staged = await driver.stage("assets", "fw.bin");
    await staged.write(new Uint8Array(6 * MiB).fill(9));
    expect(await staged.commit()).toEqual({ outcome: "replaced", size: 6 * MiB });
    expect(await rawNames("assets")).toEqual(["fw.bin"]);
    const replaced = await driver.read("assets", "fw.bin");
    expect(replaced?.size).toBe(6 * MiB);
    // Every body read to the end: one left unread is cancelled whenever it is collected, and workerd logs that.
    expect((await readAllBytes(replaced!.body)).every((b) => b === 9)).toBe(true);
  });

  it("aborts a large upload after parts were sent, leaving nothing", async () => {
    await emptyBucket();
    const driver = createR2Storage({ bucket, logger: createMemoryLogger() });
    const staged = await driver.stage("assets", "big.bin");
    await staged.write(new Uint8Array(11 * MiB));
    await staged.abort();
    await staged.abort();
    expect(await allKeys()).toEqual([]);
    await expect(staged.commit()).rejects.toThrow(/already committed or aborted/);
  });

  it("computes and remembers the hash of an object stored without one (e.g. by `wrangler r2 object put`)", async () => {
    await emptyBucket();
    const logger = createMemoryLogger();
    const driver = createR2Storage({ bucket, logger });
    const data = new Uint8Array(300_000).map((_, i) => i % 249);
    await bucket.put("assets/outside.bin", data);
    const part = await driver.read("assets", "outside.bin", { range: { offset: 100, length: 10 } });
    expect(part?.sha256).toBe(sha256(data));
    expect(await readAllBytes(part!.body)).toEqual(data.subarray(100, 110));
    const again = await driver.read("assets", "outside.bin");
    expect(again?.sha256).toBe(sha256(data));
    // Read to the end rather than cancelled: workerd logs every cancelled R2 stream with a native stack.
    expect(await readAllBytes(again!.body)).toEqual(data);
    expect(logger.entries.filter((e) => e.msg.includes("without a sha256"))).toHaveLength(1);
  });

  it("lists every page, leaving out deeper keys and temporary objects", async () => {
    await emptyBucket();
    const driver = createR2Storage({ bucket, logger: createMemoryLogger(), listPageSize: 3 });
    const names = Array.from({ length: 10 }, (_, i) => `0${i}-00-00-00-00-00.json`);
    for (const name of names) await driver.write("configs", name, new TextEncoder().encode("{}"));
    await bucket.put("configs/nested/aa-bb-cc-dd-ee-ff.json", "{}");
    await bucket.put(`${STAGING_PREFIX}leftover`, "x");
    expect((await driver.list("configs")).sort()).toEqual(names);
    expect(await driver.list("assets")).toEqual([]);
  });

  it("stores configs as application/json for anyone serving the bucket directly", async () => {
    await emptyBucket();
    const driver = createR2Storage({ bucket, logger: createMemoryLogger() });
    await driver.write("configs", "aa-bb-cc-dd-ee-ff.json", new TextEncoder().encode("{}"));
    expect((await bucket.head("configs/aa-bb-cc-dd-ee-ff.json"))?.httpMetadata?.contentType).toBe("application/json");
  });

  it("reports an unreachable bucket as STORAGE_UNAVAILABLE (an outage cannot be caused locally: a failing stand-in)", async () => {
    const failing = {
      head: async () => {
        throw new Error("R2 internal error (10001)");
      },
    } as unknown as Bucket;
    const driver = createR2Storage({ bucket: failing, logger: createMemoryLogger() });
    const error = await driver.check().catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe("STORAGE_UNAVAILABLE");
    expect((error as Error).message).toContain("object storage (R2) is not reachable");
  });

  it("shares one-time claims between two drivers on the same bucket, as two isolates would, and sweeps expired ones", async () => {
    await emptyBucket();
    const first = createR2Storage({ bucket, logger: createMemoryLogger() });
    const second = createR2Storage({ bucket, logger: createMemoryLogger() });
    const key = "5a".repeat(32);
    const outcomes = await Promise.all([
      ...Array.from({ length: 10 }, () => first.claimOnce(key, 600)),
      ...Array.from({ length: 10 }, () => second.claimOnce(key, 600)),
    ]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    // Markers live outside configs/ and assets/.
    expect(await first.list("assets")).toEqual([]);
    expect((await allKeys()).every((k) => k.startsWith(LEDGER_PREFIX))).toBe(true);
    // Each marker records its own expiry, in the same conditional PUT.
    const expiresAt = Date.parse((await bucket.head(`${LEDGER_PREFIX}${key}`))?.customMetadata?.expires_at ?? "");
    expect(expiresAt).toBeGreaterThan(Date.now() + 590_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 600_000);
    // 11 minutes later, past that expiry, the next claim (a fresh isolate: its first claim sweeps) removes it.
    const third = createR2Storage({ bucket, logger: createMemoryLogger(), wallClock: () => Date.now() + 660_000 });
    expect(await third.claimOnce("6b".repeat(32), 600)).toBe(true);
    expect(await bucket.head(`${LEDGER_PREFIX}${key}`)).toBeNull();
    expect(await bucket.head(`${LEDGER_PREFIX}${"6b".repeat(32)}`)).not.toBeNull();
  });

  it("keeps a marker stored before markers carried their expiry for the longest retention any Worker could use", async () => {
    await emptyBucket();
    const old = `${LEDGER_PREFIX}${"7e".repeat(32)}`;
    await bucket.put(old, new Uint8Array(0));
    const isolateAt = (aheadSeconds: number) =>
      createR2Storage({ bucket, logger: createMemoryLogger(), wallClock: () => Date.now() + aheadSeconds * 1000 });
    // Two hours on, an isolate with a 70 s retention (TIMESTAMP_TOLERANCE_SECONDS=5) sweeps: its writer's retention is unknown, so it stays.
    expect(await isolateAt(7200).claimOnce("8f".repeat(32), 70)).toBe(true);
    expect(await bucket.head(old)).not.toBeNull();
    // Past the longest retention (2 × the largest tolerance + 60 s), it goes.
    expect(await isolateAt(LONGEST_SIGNATURE_RETAIN_SECONDS + 60).claimOnce("9a".repeat(32), 70)).toBe(true);
    expect(await bucket.head(old)).toBeNull();
  });
});
