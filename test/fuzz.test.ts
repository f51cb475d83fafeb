/**
 * Property-based fuzzing of the HTTP surface against the real filesystem: MAC
 * paths, PUT bodies, multipart uploads and upload filenames. Whatever the input,
 * the server answers without a 5xx, every 4xx has the API's error shape, and nothing
 * is written outside the two data directories nor left behind as a temporary file.
 * Run counts are explicit and keep the file well under a minute on two cores; a
 * failure prints fast-check's seed and shrunk input.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, multipart, type TestApp } from "./support/app.js";
import { contentTypeArb, macArb, opArb, putBodyBytes, putOracle } from "./support/fuzz-configs.js";
import {
  acceptableFilename,
  emptyDirs,
  expectErrorShape,
  isSpecMac,
  layout,
  streamOf,
} from "./support/fuzz-helpers.js";
import { buildUpload, uploadPlan } from "./support/fuzz-multipart.js";
import { freshTimestamp } from "./support/upload-stream.js";

const PROPERTY_TIMEOUT = 60_000;

let t: TestApp;
let root: string;
beforeAll(async () => {
  t = await createTestApp("fs");
  root = t.root!;
});
afterAll(async () => {
  await t.cleanup();
});
beforeEach(async () => {
  await emptyDirs(t.settings.configsDir, t.settings.assetsDir);
});

const tree = () => layout(root, t.settings);

/** Fails on a 5xx (or anything that is neither 2xx nor 4xx) and checks the error shape of a 4xx. */
async function answered(res: Response) {
  expect(res.status, `unexpected status ${res.status}`).toBeLessThan(500);
  expect(res.status >= 200 && res.status < 300 ? "2xx" : res.status >= 400 ? "4xx" : "other").not.toBe("other");
  return res.status >= 400 ? expectErrorShape(res, root) : undefined;
}

// --- 1. MAC addresses in paths ---------------------------------------------------

describe("fuzz: MAC addresses in /api/configs/<mac>", () => {
  it(
    "never 5xx; 4xx in the API's error shape; a PUT only ever creates <lower-case mac>.json in the configs dir",
    async () => {
      let probe = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 8 }), async (ops) => {
          await emptyDirs(t.settings.configsDir, t.settings.assetsDir);
          let files = new Set<string>();
          for (const { method, target } of ops) {
            const path = `/api/configs/${target.literal ? encodeURIComponent(target.value) : target.value}`;
            // Dot segments are resolved by the URL parser before routing, so only other literals name a MAC.
            const seen = target.literal && target.value !== "." && target.value !== ".." ? target.value : undefined;
            const mac = seen !== undefined && isSpecMac(seen) ? seen.toLowerCase() : undefined;
            const content = { probe: ++probe };
            const init: RequestInit =
              method === "PUT"
                ? { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify({ content }) }
                : { method };
            const res = await t.app.request(path, init);
            const error = await answered(res);
            const { configs, assets } = await tree();
            const after = new Set(configs);

            // Whatever happened, only <mac>.json names can exist in the configs dir, and no asset.
            for (const name of after) expect(name).toMatch(/^[0-9a-f]{2}(-[0-9a-f]{2}){5}\.json$/);
            expect(assets).toEqual([]);

            if (seen !== undefined && mac === undefined) {
              // A literal that is not a MAC: refused before storage is touched.
              expect([400, 404]).toContain(res.status);
              if (res.status === 400) {
                expect(error?.code).toBe("INVALID_OPERATION");
                expect(error?.details.field).toBe("mac_address");
              }
            }
            const existed = mac !== undefined && files.has(`${mac}.json`);
            if (method === "PUT") {
              if (mac !== undefined) expect(res.status).toBe(200);
              if (res.status === 200) {
                const body = (await res.json()) as { mac_address: string; content: unknown };
                expect(body.mac_address).toMatch(/^[0-9a-f]{2}(-[0-9a-f]{2}){5}$/);
                if (mac !== undefined) expect(body.mac_address).toBe(mac);
                expect(body.content).toEqual(content);
                const name = `${body.mac_address}.json`;
                expect(JSON.parse(await readFile(join(t.settings.configsDir, name), "utf8"))).toEqual(content);
                files.add(name);
              }
              expect([...after].sort()).toEqual([...files].sort());
            } else if (method === "GET") {
              if (mac !== undefined) expect(res.status).toBe(existed ? 200 : 404);
              if (mac !== undefined && !existed) expect(error?.code).toBe("RECORD_NOT_FOUND");
              if (mac !== undefined && existed)
                expect(((await res.json()) as { mac_address: string }).mac_address).toBe(mac);
              expect([...after].sort()).toEqual([...files].sort());
            } else {
              if (mac !== undefined) expect(res.status).toBe(existed ? 204 : 404);
              if (res.status === 204) expect(await res.text()).toBe("");
              if (mac !== undefined && existed) files.delete(`${mac}.json`);
              // A raw path that deleted something could only have removed an existing config.
              for (const name of after) expect(files.has(name)).toBe(true);
              if (mac === undefined && res.status !== 204) expect(after.size).toBe(files.size);
              files = after;
            }
          }
        }),
        { numRuns: 300 },
      );
    },
    PROPERTY_TIMEOUT,
  );
});

// --- 2. JSON bodies of PUT /api/configs/<mac> ---------------------------------------

describe("fuzz: PUT /api/configs/<mac> bodies", () => {
  it(
    "never 5xx; 200 only for an object with an object content; the file holds exactly content; else nothing is written",
    async () => {
      const previous = { deviceName: "previous", old: true };
      await fc.assert(
        fc.asyncProperty(
          macArb,
          putBodyBytes,
          contentTypeArb,
          fc.boolean(),
          async (rawMac, bytes, contentType, preexisting) => {
            await emptyDirs(t.settings.configsDir, t.settings.assetsDir);
            const mac = rawMac.toLowerCase();
            const file = join(t.settings.configsDir, `${mac}.json`);
            if (preexisting) await writeFile(file, JSON.stringify(previous, null, 2));
            const published = t.sink.published.length;
            const oracle = putOracle(bytes, contentType);

            const res = await t.app.request(`/api/configs/${rawMac}`, {
              method: "PUT",
              headers: contentType === undefined ? {} : { "Content-Type": contentType },
              body: bytes as Uint8Array<ArrayBuffer>,
            });
            const error = await answered(res);
            const { configs } = await tree();

            if (oracle.valid && (oracle.allowOverwrite || !preexisting)) {
              expect(res.status).toBe(200);
              const body = (await res.json()) as { mac_address: string; content: unknown };
              expect(body.mac_address).toBe(mac);
              // Compared as text, so that key order and own "__proto__" keys count too.
              expect(JSON.stringify(body.content)).toBe(JSON.stringify(oracle.content));
              expect(configs).toEqual([`${mac}.json`]);
              expect(JSON.stringify(JSON.parse(await readFile(file, "utf8")))).toBe(JSON.stringify(oracle.content));
              expect(t.sink.published.length).toBe(published + 1);
              return;
            }
            if (oracle.valid) {
              expect(res.status).toBe(409);
              expect(error?.code).toBe("RECORD_EXISTS");
              expect(error?.error).toContain(mac);
            } else {
              expect(res.status).toBe(400);
              expect(error?.code).toBe("VALIDATION_FAILED");
            }
            expect(t.sink.published.length).toBe(published);
            expect(configs).toEqual(preexisting ? [`${mac}.json`] : []);
            if (preexisting) expect(JSON.parse(await readFile(file, "utf8"))).toEqual(previous);
          },
        ),
        { numRuns: 600 },
      );
    },
    PROPERTY_TIMEOUT,
  );
});

// --- 3. Multipart uploads ---------------------------------------------------------

describe("fuzz: POST /api/assets multipart bodies", () => {
  it(
    "never 5xx; 200 only for a valid filename, timestamp and signature; nothing outside, no temp file",
    async () => {
      await fc.assert(
        fc.asyncProperty(uploadPlan, async (plan) => {
          await emptyDirs(t.settings.configsDir, t.settings.assetsDir);
          const upload = buildUpload(plan, t.sign);
          const { filename, expected } = upload;
          // Stored under the NFC form of the name sent.
          const target = filename === undefined ? undefined : join(t.settings.assetsDir, filename.normalize("NFC"));

          // An earlier upload under the same name must survive a rejected one.
          const previous = new TextEncoder().encode("previous upload");
          const seeded = plan.preseed && target !== undefined && acceptableFilename(filename as string);
          if (seeded) await writeFile(target, previous);
          const published = t.sink.published.length;

          const res = await t.app.request("/api/assets", {
            method: "POST",
            headers: { "Content-Type": upload.contentType },
            body: plan.chunkSize === null ? upload.body : streamOf(upload.body, plan.chunkSize),
            duplex: "half",
          } as RequestInit);
          const error = await answered(res);
          const { configs, assets } = await tree();
          expect(configs).toEqual([]);

          if (res.status === 200) {
            const result = (await res.json()) as { filename: string; size: number };
            expect(acceptableFilename(result.filename)).toBe(true);
            expect(assets).toEqual([result.filename]);
            expect((await readFile(join(t.settings.assetsDir, result.filename))).length).toBe(result.size);
            expect(t.sink.published.length).toBe(published + 1);
          } else {
            expect(assets).toEqual(seeded ? [(filename as string).normalize("NFC")] : []);
            if (seeded) expect(new Uint8Array(await readFile(target as string))).toEqual(previous);
            expect(t.sink.published.length).toBe(published);
          }

          if (expected.status === 200) {
            expect(res.status).toBe(200);
            expect(new Uint8Array(await readFile(target as string))).toEqual(upload.fileBytes);
          } else if (expected.status === 400) {
            expect(res.status).toBe(400);
            expect(error?.code).toBe("VALIDATION_FAILED");
            if (expected.field) expect(error?.details.field).toBe(expected.field);
          }
        }),
        { numRuns: 600 },
      );
    },
    PROPERTY_TIMEOUT,
  );
});

// --- 4. Refused filenames, one by one ----------------------------------------------

const REFUSED_FILENAMES: Array<[string, string]> = [
  ["dot", "."],
  ["dot-dot", ".."],
  ["parent path", "../x"],
  ["slash", "a/b"],
  ["backslash", "a\\b"],
  [".tmp suffix", "x.tmp"],
  ["NUL", "a\u0000b"],
  ["\\x01", "a\u0001b"],
  ["\\x7f", "a\u007fb"],
  ["300 characters", "n".repeat(300)],
  ["empty", ""],
  ["absolute path", "/etc/passwd"],
  ["Windows parent path", "..\\x"],
  ["upper-case .TMP", "firmware.TMP"],
  ["hidden", ".hidden"],
  ["own temp prefix", ".iotsupport-1234.tmp"],
  ["C1 control", "a\u0085b"],
];

describe("refused upload filenames", () => {
  it.each(REFUSED_FILENAMES)("%s → 400 VALIDATION_FAILED on filename, nothing written", async (_label, filename) => {
    const published = t.sink.published.length;
    for (const fileFirst of [true, false]) {
      const timestamp = freshTimestamp();
      const fields = [
        { name: "timestamp", value: timestamp },
        { name: "signature", value: t.sign(timestamp) },
      ];
      const file = {
        name: "file",
        value: "bytes that must not land",
        filename,
        contentType: "application/octet-stream",
      };
      const { body, contentType } = multipart(fileFirst ? [file, ...fields] : [...fields, file]);
      const res = await t.app.request("/api/assets", {
        method: "POST",
        headers: { "Content-Type": contentType },
        body,
      });
      const error = await expectErrorShape(res, root);
      expect(res.status).toBe(400);
      expect(error.code).toBe("VALIDATION_FAILED");
      expect(error.details.field).toBe("filename");
      const { configs, assets } = await tree();
      expect({ configs, assets }).toEqual({ configs: [], assets: [] });
    }
    expect(t.sink.published.length).toBe(published);
  });
});
