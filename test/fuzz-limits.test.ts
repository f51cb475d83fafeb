/**
 * Property-based tests of the limits: config bodies against MAX_CONFIG_BYTES (as sent and
 * as stored, two-space indented) and against the exact-number rule, and uploads against a
 * nearly full volume with two upload slots. The oracles are written from the contract's words, not
 * from the server's code: json-numbers.ts and json-size.ts are deliberately not imported.
 */
import { readdir, readFile, rm, stat, statfs, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./support/app.js";
import { configOracle, heldExactlyOracle, limitedPutBody } from "./support/fuzz-config-limits.js";
import { emptyDirs, expectErrorShape } from "./support/fuzz-helpers.js";
import { expectError } from "./support/http.js";
import { mountSmallVolume, type SmallVolume, smallVolumesAvailable } from "./support/tmpfs.js";
import { patternBytes, signFields, streamedUpload } from "./support/upload-stream.js";

const PROPERTY_TIMEOUT = 120_000;
const canMount = await smallVolumesAvailable();
const enc = new TextEncoder();

describe("fuzz: config bodies against MAX_CONFIG_BYTES and the exact-number rule", () => {
  const MAX = 2048;
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp("fs", { MAX_CONFIG_BYTES: String(MAX) });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it("the oracle itself: the contract's examples", () => {
    for (const token of ["1e400", "12345678901234567890", "9007199254740993", "1e-400", "1.7976931348623159e308"]) {
      expect(heldExactlyOracle(token), token).toBe(false);
    }
    for (const token of ["1.50", "1E2", "0.0", "-0", "9007199254740992", "5e-324", "0.1", "123456789012345680000"]) {
      expect(heldExactlyOracle(token), token).toBe(true);
    }
  });

  it(
    "never 5xx; 413 exactly when too large as sent or as stored; 400 for an inexact number; a 200 stores JSON.stringify(content, null, 2), never over the limit",
    async () => {
      await emptyDirs(t.settings.configsDir);
      const files = new Map<string, string>();
      const tally = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(limitedPutBody(MAX), async (body) => {
          const expected = configOracle(body, MAX);
          const bytes = enc.encode(body.text);
          const headers: Record<string, string> = { "Content-Type": "application/json" };
          if (body.declareLength) headers["Content-Length"] = String(bytes.length);
          const res = await t.app.request(`/api/configs/${body.mac}`, { method: "PUT", headers, body: bytes });
          const key = `${res.status} ${expected.why}`;
          tally.set(key, (tally.get(key) ?? 0) + 1);

          expect(res.status, `expected ${JSON.stringify(expected).slice(0, 200)}`).toBe(expected.status);
          if (expected.status === 200) {
            files.set(body.mac, expected.stored);
            const answer = (await res.json()) as { content: unknown };
            expect(JSON.stringify(answer.content, null, 2)).toBe(expected.stored);
          } else {
            const error = await expectErrorShape(res, t.root as string);
            expect(error.code).toBe(expected.status === 413 ? "PAYLOAD_TOO_LARGE" : "VALIDATION_FAILED");
          }
          // Whatever was answered: every stored file is within the limit and is the last accepted body.
          const names = (await readdir(t.settings.configsDir)).sort();
          expect(names).toEqual([...files.keys()].map((mac) => `${mac}.json`).sort());
          for (const [mac, stored] of files) {
            const path = join(t.settings.configsDir, `${mac}.json`);
            expect((await stat(path)).size).toBeLessThanOrEqual(MAX);
            expect(await readFile(path, "utf8")).toBe(stored);
          }
        }),
        { numRuns: 600 },
      );
      const figures = [...tally].sort().map(([k, n]) => `${k}: ${n}`);
      console.log(`config bodies (MAX_CONFIG_BYTES=${MAX}): ${figures.join(", ")}`);
      // The generators must reach every outcome, or the property proves less than it says.
      const outcomes = [
        "200 accepted",
        "200 accepted near the limit",
        "413 sent",
        "413 stored",
        "413 stored near the limit",
      ];
      for (const outcome of [...outcomes, "400 inexact number", "400 too deep"]) {
        expect(tally.get(outcome) ?? 0, outcome).toBeGreaterThan(0);
      }
    },
    PROPERTY_TIMEOUT,
  );
});

// --- uploads against a nearly full volume with two upload slots -----------------------------

const KiB = 1024;
const MAX_UPLOAD = 1024 * KiB;
const uploadPlan = fc.record({
  size: fc.oneof(
    fc.integer({ min: 0, max: 4 * KiB }),
    fc.integer({ min: 200 * KiB, max: 700 * KiB }),
    fc.integer({ min: MAX_UPLOAD - 2 * KiB, max: MAX_UPLOAD + 100 * KiB }),
  ),
  version: fc.constantFrom<1 | 2>(1, 2),
  fileFirst: fc.boolean(),
  chunkSize: fc.integer({ min: KiB, max: 128 * KiB }),
  /** Sends half of the file, then nothing: the idle timeout must cut it. */
  stall: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});
const runPlan = fc.record({
  uploads: fc.array(uploadPlan, { minLength: 1, maxLength: 5 }),
  fillerKiB: fc.integer({ min: 0, max: 1200 }),
});

describe.runIf(canMount)("fuzz: uploads while the volume is full or the upload slots are taken", () => {
  let volume: SmallVolume;
  let t: TestApp;
  let emptyFree: number;
  const free = async () => {
    const info = await statfs(volume.dir);
    return info.bavail * info.bsize;
  };
  beforeAll(async () => {
    volume = await mountSmallVolume(1536);
    t = await createTestApp("fs", {
      ASSETS_DIR: join(volume.dir, "assets"),
      MAX_CONCURRENT_UPLOADS: "2",
      // In process every request comes from one (unknown) address: its share is the whole bound here.
      MAX_UPLOADS_PER_CLIENT: "2",
      MAX_UPLOAD_BYTES: String(MAX_UPLOAD),
      UPLOAD_IDLE_TIMEOUT_MS: "1000",
    });
    emptyFree = await free();
  });
  afterAll(async () => {
    await t?.cleanup();
    await volume?.cleanup();
  });

  it(
    "only 200, 408, 413, 503 SERVER_BUSY or 507 STORAGE_FULL; a 200 stores the bytes, anything else nothing; no temporary file; every byte freed",
    async () => {
      const filler = join(volume.dir, "filler.bin");
      const tally = new Map<number, number>();
      let seq = 0;
      await fc.assert(
        fc.asyncProperty(runPlan, async ({ uploads, fillerKiB }) => {
          await emptyDirs(t.settings.assetsDir);
          await rm(filler, { force: true });
          await writeFile(filler, new Uint8Array(fillerKiB * KiB));
          const sent = uploads.map((plan) => {
            const filename = `up-${++seq}.bin`;
            const content = patternBytes(plan.size, seq);
            const body = streamedUpload({
              fields: signFields(t.sign, plan.version, filename, content),
              filename,
              content,
              fileFirst: plan.fileFirst && !plan.stall,
              chunkSize: plan.chunkSize,
              ...(plan.stall ? { holdAt: Math.floor(plan.size / 2) } : {}),
            });
            const answer = Promise.resolve(
              t.app.request("/api/assets", {
                method: "POST",
                headers: { "Content-Type": body.contentType },
                body: body.stream,
                duplex: "half",
              } as RequestInit),
            );
            // A stalled client stays silent until it has its answer, then goes away.
            const goAway = () => body.fail();
            void answer.then(goAway, goAway);
            return { plan, filename, content, length: body.length, answer };
          });
          const answers = await Promise.all(sent.map((s) => s.answer));
          // Right after the answers: a refused upload must already have removed its temporary file.
          expect((await readdir(t.settings.assetsDir)).filter((n) => n.startsWith(".iotsupport-"))).toEqual([]);

          const accepted: string[] = [];
          for (const [i, res] of answers.entries()) {
            const { plan, filename, content, length } = sent[i] as (typeof sent)[number];
            tally.set(res.status, (tally.get(res.status) ?? 0) + 1);
            const allowed = [503, 507, ...(plan.stall ? [408] : length > MAX_UPLOAD ? [413] : [200])];
            expect(allowed, `upload of ${plan.size} bytes${plan.stall ? ", stalled" : ""}`).toContain(res.status);
            if (res.status === 200) {
              expect(((await res.json()) as { size: number }).size).toBe(plan.size);
              expect((await readFile(join(t.settings.assetsDir, filename))).equals(content)).toBe(true);
              accepted.push(filename);
              continue;
            }
            const code = { 408: "REQUEST_TIMEOUT", 413: "PAYLOAD_TOO_LARGE", 503: "SERVER_BUSY", 507: "STORAGE_FULL" };
            const error = await expectError(res, res.status, code[res.status as keyof typeof code]);
            if (res.status === 503) {
              expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
              expect(error.details.max_concurrent_uploads).toBe(2);
            }
          }
          // Two slots: at most the others can have been turned away.
          expect(answers.filter((r) => r.status !== 503).length).toBeGreaterThanOrEqual(Math.min(uploads.length, 2));
          expect((await readdir(t.settings.assetsDir)).sort()).toEqual(accepted.sort());
          // No handle left open on a deleted temporary file: emptied, the volume is as free as at the start.
          await emptyDirs(t.settings.assetsDir);
          await rm(filler, { force: true });
          expect(await free()).toBe(emptyFree);
        }),
        { numRuns: 50 },
      );
      console.log(
        `uploads on a 1.5 MiB volume, 2 slots: ${[...tally]
          .sort()
          .map(([s, n]) => `${s}: ${n}`)
          .join(", ")}`,
      );
      for (const status of [200, 503, 507])
        expect(tally.get(status) ?? 0, `status ${status} reached`).toBeGreaterThan(0);
    },
    PROPERTY_TIMEOUT,
  );
});
