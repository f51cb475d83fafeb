/**
 * Issue 16: servers sharing STATE_DIR with different TIMESTAMP_TOLERANCE_SECONDS. Each
 * one-time marker keeps its own expiry, so the server with the shortest tolerance no longer
 * sweeps the markers another server must remember longer. Proven on two real Node servers:
 * B (3600 s) accepts an upload, A (5 s) sweeps, the same signature replayed to B is refused.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LEDGER_DIR } from "../src/plugins/storage/fs-ledger.js";
import { testKeys } from "./support/keys.js";
import { type SpawnedServer, spawnServer } from "./support/server.js";
import { shiftedClockCommand } from "./support/shifted-clock.js";
import { freshTimestamp } from "./support/upload-stream.js";

/** A deadline for a test that boots two Node servers on a loaded machine, not a speed expectation. */
const TWO_SERVERS_TEST_MS = 120_000;
/** How far A's clock runs ahead: past its own retention (2 × 5 s + 60 s), well within B's (2 × 3600 s + 60 s). */
const A_AHEAD_MS = 100_000;

/** A version 1 upload (the signature covers the timestamp), as `iot-upload --v1` sends it. */
function v1Upload(signature: string, timestamp: string, filename: string, content: string): FormData {
  const form = new FormData();
  form.append("timestamp", timestamp);
  form.append("signature", signature);
  form.append("file", new Blob([content]), filename);
  return form;
}

const postAsset = (url: string, form: FormData) => fetch(`${url}/api/assets`, { method: "POST", body: form });
/** The name of a signature's marker: the SHA-256 of the decoded signature bytes. */
const markerOf = (signature: string) => createHash("sha256").update(Buffer.from(signature, "base64")).digest("hex");

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.map((c) => c()));
  cleanups = [];
});

describe("two servers sharing STATE_DIR, TIMESTAMP_TOLERANCE_SECONDS 5 (A) and 3600 (B)", () => {
  it(
    "A's sweep keeps B's markers: an upload accepted by B and replayed to B after A swept is still 400 already used",
    async () => {
      const keys = testKeys();
      const shared = await mkdtemp(join(tmpdir(), "iot-shared-state-"));
      const servers: SpawnedServer[] = [];
      cleanups.push(async () => {
        await Promise.all(servers.map((s) => s.cleanup()));
        await rm(shared, { recursive: true, force: true });
      });
      const env = {
        SIGNING_KEY: keys.pkcs8,
        ESP32_CONFIGS_DIR: join(shared, "configs"),
        ASSETS_DIR: join(shared, "assets"),
        STATE_DIR: join(shared, "state"),
      };
      const b = await spawnServer({ ...env, TIMESTAMP_TOLERANCE_SECONDS: "3600" });
      servers.push(b);
      // A acts now as it would 100 s after B's upload, instead of the test waiting that long.
      const a = await spawnServer(
        { ...env, TIMESTAMP_TOLERANCE_SECONDS: "5", TEST_CLOCK_SHIFT_MS: String(A_AHEAD_MS) },
        undefined,
        shiftedClockCommand(),
      );
      servers.push(a);
      const markers = join(shared, "state", LEDGER_DIR);

      // A marker older than any server keeps one (an empty file, as servers before this fix
      // wrote): A's sweep removes it, which shows that A did sweep.
      const stale = "ee".repeat(32);
      await writeFile(join(markers, stale), "");
      const threeYearsAgo = new Date(Date.now() - 3 * 366 * 86_400_000);
      await utimes(join(markers, stale), threeYearsAgo, threeYearsAgo);

      const timestamp = freshTimestamp();
      const signature = keys.sign(timestamp);
      const accepted = await postAsset(b.url, v1Upload(signature, timestamp, "fw-1.0.bin", "genuine"));
      expect(accepted.status, await accepted.clone().text()).toBe(200);
      expect(await readdir(markers)).toContain(markerOf(signature));

      // An upload to A (a timestamp fresh on A's clock): its claim runs A's sweep, 70 s retention.
      const onA = new Date(Date.now() + A_AHEAD_MS).toISOString();
      const toA = await postAsset(a.url, v1Upload(keys.sign(onA), onA, "fw-1.1.bin", "next"));
      expect(toA.status, await toA.clone().text()).toBe(200);
      const left = await readdir(markers);
      expect(left).not.toContain(stale);
      expect(left).toContain(markerOf(signature));

      // The captured fields replayed to B, with another file under another name too.
      for (const [name, content] of [
        ["fw-1.0.bin", "genuine"],
        ["evil.bin", "malware"],
      ] as const) {
        const replay = await postAsset(b.url, v1Upload(signature, timestamp, name, content));
        const body = (await replay.json()) as { code?: string; error?: string; details?: { field?: string } };
        expect(replay.status, JSON.stringify(body)).toBe(400);
        expect(body.code).toBe("VALIDATION_FAILED");
        expect(body.details?.field).toBe("signature");
        expect(body.error).toContain("already used");
      }
      expect((await readdir(join(shared, "assets"))).sort()).toEqual(["fw-1.0.bin", "fw-1.1.bin"]);
    },
    TWO_SERVERS_TEST_MS,
  );
});
