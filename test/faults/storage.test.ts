/**
 * Storage faults against the bundled server: a volume that fills while uploads are held
 * open, and captured signatures replayed, on one server and across two sharing the data.
 * Each scenario prints its figures and fails on any stray status, file or notification.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freshGet, type ReuseOutcome, uploadThenReuse } from "../support/connections.js";
import { expectError } from "../support/http.js";
import { testKeys } from "../support/keys.js";
import type { SpawnedServer } from "../support/server.js";
import { mountSmallVolume, smallVolumesAvailable } from "../support/tmpfs.js";
import { patternBytes, type SignedFields, signFields, streamedUpload, uploadBody } from "../support/upload-stream.js";
import { startBundled, waitUntil } from "./support.js";

const MiB = 1024 * 1024;
const keys = testKeys();
const canMount = await smallVolumesAvailable();

// Undone in reverse order after each test, pass or fail: servers stop before their volume is unmounted.
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  const errors: unknown[] = [];
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => errors.push(error));
  if (errors.length > 0) throw errors[0];
});
const track = <T extends { cleanup(): Promise<unknown> }>(thing: T): T => {
  cleanups.push(() => thing.cleanup());
  return thing;
};
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The three data directories under `root`, as servers sharing their storage must share them. */
async function dataDirs(root: string) {
  const dirs = { configs: join(root, "configs"), assets: join(root, "assets"), state: join(root, "state") };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
  return { ...dirs, env: { ESP32_CONFIGS_DIR: dirs.configs, ASSETS_DIR: dirs.assets, STATE_DIR: dirs.state } };
}
type Dirs = Awaited<ReturnType<typeof dataDirs>>;

const freeBytes = async (dir: string) => {
  const info = await statfs(dir);
  return info.bavail * info.bsize;
};
/** What one signature marker takes on the volume: a block, since a marker holds its own expiry. */
const markerBytes = async (dir: string) => (await statfs(dir)).bsize;
const temporaries = async (dir: string) => (await readdir(dir)).filter((n) => /^\.iotsupport-.*\.tmp$/.test(n));
const markers = async (dirs: Dirs) => (await readdir(join(dirs.state, "used-signatures"))).length;
const sameBytes = async (path: string, expected: Uint8Array) => (await readFile(path)).equals(expected);

const post = (server: SpawnedServer, upload: { body: Uint8Array<ArrayBuffer>; contentType: string }) =>
  fetch(`${server.url}/api/assets`, {
    method: "POST",
    headers: { "Content-Type": upload.contentType },
    body: upload.body,
  });

/** Health and a device read of an asset, each on a connection of its own, as a polling device makes them. */
async function deviceView(server: SpawnedServer, name: string, expected: Uint8Array) {
  try {
    const health = await freshGet(`${server.url}/api/health`);
    const read = await freshGet(`${server.url}/files/assets/${encodeURIComponent(name)}`);
    return { health: health.status, read: read.status, same: read.bytes.equals(expected) };
  } catch (error) {
    return { health: 0, read: 0, same: false, error: String(error) };
  }
}
type View = Awaited<ReturnType<typeof deviceView>>;
const healthy = (v: View) => v.health === 200 && v.read === 200 && v.same;

/** A device polling health and an asset until stopped; every view is kept. */
function startProber(server: SpawnedServer, name: string, expected: Uint8Array) {
  const views: View[] = [];
  let running = true;
  const loop = (async () => {
    while (running) views.push(await deviceView(server, name, expected));
  })();
  return {
    views,
    async stop() {
      running = false;
      await loop;
      return views;
    },
  };
}

/** An upload's answer as read in full; status 0 when the request itself failed (text says why). */
interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

const FILE = 5 * MiB;
const HOLD = 3.75 * MiB;

/**
 * A server whose configs, assets and state live on a 12 MiB volume holding one small
 * asset, and three 5 MiB uploads held open at 3.75 MiB each: 11.25 MiB of temporary
 * files, the volume nearly full, every upload still needing 1.25 MiB.
 */
async function threeHeldUploads() {
  const volume = track(await mountSmallVolume(12 * 1024));
  const dirs = await dataDirs(volume.dir);
  // No idle cut, and no minimum rate for the unverified version 2 upload, while a slow machine
  // gets the three uploads to their hold points.
  const server = track(
    await startBundled({
      ...dirs.env,
      SIGNING_KEY: keys.pkcs8,
      UPLOAD_IDLE_TIMEOUT_MS: "600000",
      UPLOAD_MIN_BYTES_PER_SECOND: "0",
    }),
  );
  const earlier = patternBytes(3000, 99);
  const fields = signFields(keys.sign, 1, "earlier.bin", earlier);
  const first = await post(server, uploadBody({ fields, filename: "earlier.bin", content: earlier }));
  expect(first.status, await first.clone().text()).toBe(200);
  await first.arrayBuffer();
  const freeBefore = await freeBytes(volume.dir);

  const uploads = [0, 1, 2].map((i) => {
    const filename = `firmware-${i}.bin`;
    const content = patternBytes(FILE, i + 1);
    const fields = signFields(keys.sign, i === 1 ? 2 : 1, filename, content);
    const body = streamedUpload({ fields, filename, content, holdAt: HOLD });
    const init = { method: "POST", headers: { "Content-Type": body.contentType }, body: body.stream, duplex: "half" };
    const answer: Promise<Answer> = fetch(`${server.url}/api/assets`, init as RequestInit).then(
      async (res) => ({ status: res.status, headers: res.headers, text: await res.text() }),
      (error: unknown) => ({ status: 0, headers: new Headers(), text: String(error) }),
    );
    return { filename, content, body, answer, version: i === 1 ? 2 : 1 };
  });
  // A test that fails before finishing them must not leave the client streams waiting.
  cleanups.push(async () => {
    for (const upload of uploads) upload.body.fail();
  });
  // The parser keeps back a few bytes while it looks for the boundary, hence the margin.
  await waitUntil(
    "three temporary files of nearly 3.75 MiB",
    async () => {
      const names = await temporaries(dirs.assets);
      const sizes = await Promise.all(names.map(async (n) => (await stat(join(dirs.assets, n))).size));
      return sizes.length === 3 && sizes.every((size) => size >= HOLD - 4096);
    },
    120_000,
  );
  return { volume, dirs, server, earlier, freeBefore, uploads };
}

async function expectStorageFull(answer: Answer) {
  const error = await expectError(
    new Response(answer.text, { status: answer.status, headers: answer.headers }),
    507,
    "STORAGE_FULL",
  );
  expect(error.error.length).toBeGreaterThan(0);
}

describe.runIf(canMount)("fault suite: storage on a small volume", () => {
  it("3 parallel held-open uploads against a nearly full volume, finished one after the other: the first 507, the two that then fit 200", async () => {
    const { volume, dirs, server, earlier, freeBefore, uploads } = await threeHeldUploads();
    const freeHeld = await freeBytes(volume.dir);
    const whileHeld = await deviceView(server, "earlier.bin", earlier);
    const prober = startProber(server, "earlier.bin", earlier);

    // The first finished needs 1.25 MiB where 0.75 MiB is free: it fails, and frees its 3.75 MiB.
    const [a, b, c] = uploads as [(typeof uploads)[0], (typeof uploads)[0], (typeof uploads)[0]];
    a.body.finish();
    const answerA = await a.answer;
    const freeAfterFailure = await freeBytes(volume.dir);
    const afterFailure = await deviceView(server, "earlier.bin", earlier);
    b.body.finish();
    c.body.finish();
    const [answerB, answerC] = await Promise.all([b.answer, c.answer]);
    const probes = await prober.stop();
    const after = await deviceView(server, "earlier.bin", earlier);
    const freeAfter = await freeBytes(volume.dir);
    const stored = (await readdir(dirs.assets)).sort();
    const statuses = [answerA, answerB, answerC].map((r) => r.status || r.text);
    console.log(
      `nearly full volume (12 MiB, 3 × 5 MiB held at 3.75 MiB, finished in turn): statuses ${statuses.join(", ")}; ` +
        `free bytes before ${freeBefore}, held ${freeHeld}, after the 507 ${freeAfterFailure}, after ${freeAfter}; ` +
        `device probes ${probes.length}, failed ${probes.filter((p) => !healthy(p)).length}; ` +
        `assets [${stored.join(", ")}], signature markers ${await markers(dirs)}`,
    );

    expect(statuses).toEqual([507, 200, 200]);
    await expectStorageFull(answerA);
    for (const [answer, upload] of [
      [answerB, b],
      [answerC, c],
    ] as const) {
      expect(JSON.parse(answer.text)).toMatchObject({ filename: upload.filename, size: FILE });
      expect(await sameBytes(join(dirs.assets, upload.filename), upload.content)).toBe(true);
    }
    expect([whileHeld, afterFailure, after, ...probes].filter((v) => !healthy(v))).toEqual([]);
    // Only the completed assets: no temporary file, nothing under the refused name.
    expect(stored).toEqual(["earlier.bin", b.filename, c.filename].sort());
    // The three stored keep their signatures, and so does the refused one: it was version 1, whose
    // signature covers only its timestamp and so is never given back (a captured one could carry any file).
    expect(await markers(dirs)).toBe(4);
    // Every byte of the refused upload was released (no handle left open on a deleted file).
    // The two stored files, and a block for each of the three new signature markers (STATE_DIR is on this volume too).
    expect(freeAfter).toBe(freeBefore - 2 * FILE - 3 * (await markerBytes(volume.dir)));
  });

  it("3 parallel held-open uploads against a nearly full volume, finished at the same moment: 200 or 507 only, at least one 507, nothing partial", async () => {
    const { volume, dirs, server, earlier, freeBefore, uploads } = await threeHeldUploads();
    const prober = startProber(server, "earlier.bin", earlier);
    for (const upload of uploads) upload.body.finish();
    const answers = await Promise.all(uploads.map((u) => u.answer));
    const probes = await prober.stop();
    const freeAfter = await freeBytes(volume.dir);
    const stored = (await readdir(dirs.assets)).sort();
    const statuses = answers.map((r) => r.status || r.text);
    const accepted = uploads.filter((_, i) => answers[i]?.status === 200);
    console.log(
      `nearly full volume, 3 × 5 MiB finished at once: statuses ${statuses.join(", ")}; free bytes before ${freeBefore}, ` +
        `after ${freeAfter}; device probes ${probes.length}, failed ${probes.filter((p) => !healthy(p)).length}; ` +
        `assets [${stored.join(", ")}], signature markers ${await markers(dirs)}`,
    );

    // Which of the three wins the race for the last free megabyte is the kernel's choice;
    // what holds whatever it chose: 15 MiB cannot fit, and a refusal leaves nothing behind.
    for (const answer of answers) expect([200, 507]).toContain(answer.status);
    for (const answer of answers.filter((r) => r.status === 507)) await expectStorageFull(answer);
    expect(accepted.length).toBeLessThanOrEqual(2);
    for (const upload of accepted)
      expect(await sameBytes(join(dirs.assets, upload.filename), upload.content)).toBe(true);
    expect(stored).toEqual(["earlier.bin", ...accepted.map((u) => u.filename)].sort());
    expect(probes.filter((v) => !healthy(v))).toEqual([]);
    // Refused version 2 uploads give their signature back; refused version 1 uploads keep it used.
    const refusedV1 = uploads.filter((u, i) => answers[i]?.status !== 200 && u.version === 1).length;
    expect(await markers(dirs)).toBe(1 + accepted.length + refusedV1);
    const newMarkers = (await markers(dirs)) - 1;
    expect(freeAfter).toBe(freeBefore - accepted.length * FILE - newMarkers * (await markerBytes(volume.dir)));
  });

  it("an upload answered before its body was read (507 full volume, 400 replayed signature): the next request on that connection is answered, or the answer said Connection: close", async () => {
    const volume = track(await mountSmallVolume(2 * 1024));
    const dirs = await dataDirs(volume.dir);
    const server = track(await startBundled({ ...dirs.env, SIGNING_KEY: keys.pkcs8 }));
    const content = patternBytes(8 * MiB, 5);
    const bigFields = signFields(keys.sign, 1, "big.bin", content);
    const full = await uploadThenReuse(server.url, uploadBody({ fields: bigFields, filename: "big.bin", content }));
    const small = patternBytes(1000, 6);
    const fields = signFields(keys.sign, 1, "small.bin", small);
    const accepted = await post(server, uploadBody({ fields, filename: "small.bin", content: small }));
    expect(accepted.status).toBe(200);
    await accepted.arrayBuffer();
    const replay = await uploadThenReuse(server.url, uploadBody({ fields, filename: "evil.bin", content }));

    const summary = (r: ReuseOutcome) =>
      `${r.first.split("\r\n")[0]} (${/^connection: .*$/im.exec(r.first)?.[0] ?? "no Connection header"}), then ` +
      (r.second ? r.second.split("\r\n")[0] : r.closedUnanswered ? "closed without answering" : "no answer");
    console.log(`answered before the body was read: 507 → ${summary(full)}; replay 400 → ${summary(replay)}`);
    expect(full.first).toMatch(/^HTTP\/1\.1 507/);
    expect(replay.first).toMatch(/^HTTP\/1\.1 400/);
    // A server that will not read the rest must say so; one that says keep-alive must answer the next request.
    for (const r of [full, replay]) {
      expect(/^connection: close$/im.test(r.first) || /^HTTP\/1\.1 200/.test(r.second), summary(r)).toBe(true);
    }
  });
});

describe("fault suite: replayed signatures", () => {
  /** Two servers sharing one set of data directories, notifications on their standard output. */
  async function twoServers(prefix: string, extra: Record<string, string> = {}) {
    const dirs = await dataDirs(await tempDir(prefix));
    const env = { ...dirs.env, SIGNING_KEY: keys.pkcs8, MQTT_URL: "console:", ...extra };
    return { dirs, a: track(await startBundled(env)), b: track(await startBundled(env)) };
  }
  const refusedAsReplay = (status: number, body: { details?: { field?: unknown }; error?: string }) =>
    status === 400 && body.details?.field === "signature" && (body.error ?? "").includes("already used");

  it("200 replays of captured signatures → 200 refused, 0 stored, 10 notifications; half of them to a second server sharing the data", async () => {
    // Room for a whole batch at once: this scenario is about replays, not about the upload slots.
    const { dirs, a, b } = await twoServers("iot-replay-", { MAX_CONCURRENT_UPLOADS: "64" });

    // Ten legitimate uploads through server A, versions 1 and 2, either part order.
    const captured: Array<{ fields: SignedFields; filename: string; content: Uint8Array }> = [];
    for (let i = 0; i < 10; i++) {
      const filename = `legit-${i}.bin`;
      const content = patternBytes(1000 + i * 37, 1000 + i);
      const fields = { ...signFields(keys.sign, i % 3 === 2 ? 2 : 1, filename, content), explicitVersion: i % 4 === 1 };
      const res = await post(a, uploadBody({ fields, filename, content, fileFirst: i % 2 === 1 }));
      expect(res.status, await res.clone().text()).toBe(200);
      await res.arrayBuffer();
      captured.push({ fields, filename, content });
    }

    // Reproducible choices: the seed is printed with the figures.
    const seed = (Date.now() % 100_000) + 1;
    let state = seed;
    const random = () => {
      state = (state * 48271) % 2147483647;
      return state / 2147483647;
    };
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;

    const outcomes: Array<{ refused: boolean; status: number; error?: string; server: "A" | "B"; kind: string }> = [];
    for (let batch = 0; batch < 10; batch++) {
      const replays = Array.from({ length: 20 }, async (_, j) => {
        const tuple = pick(captured);
        // Version 1 covers only the timestamp, so the attack is "any file under any name". Version 2
        // covers name and content: only an identical copy gets as far as the replay check.
        const kind =
          tuple.fields.version === 2 ? "identical" : pick(["other name and content", "other content", "identical"]);
        const filename = kind === "other name and content" ? `evil-${batch}-${j}.bin` : tuple.filename;
        const content = kind === "identical" ? tuple.content : patternBytes(500 + j, 5000 + batch * 20 + j);
        const server = random() < 0.5 ? "A" : "B";
        const upload = uploadBody({ fields: tuple.fields, filename, content, fileFirst: random() < 0.5 });
        const res = await post(server === "A" ? a : b, upload);
        const body = (await res.json()) as { details?: { field?: unknown }; error?: string };
        outcomes.push({
          refused: refusedAsReplay(res.status, body),
          status: res.status,
          error: body.error,
          server,
          kind,
        });
      });
      await Promise.all(replays);
    }

    // Notifications go out after the response: wait until neither server has one pending.
    const pending = async (s: SpawnedServer) =>
      ((await (await fetch(`${s.url}/api/health`)).json()) as { notifications: { pending: number } }).notifications
        .pending;
    await waitUntil("no pending notification", async () => (await pending(a)) + (await pending(b)) === 0);
    const notified = [a, b].flatMap((s) => s.lines().filter((l) => l.topic === "iotsupport/updates/assets"));
    const stored = (await readdir(dirs.assets)).sort();
    const count = (f: (o: (typeof outcomes)[number]) => boolean) => outcomes.filter(f).length;
    console.log(
      `replays (seed ${seed}): ${outcomes.length} sent, ${count((o) => o.server === "B")} of them to server B; ` +
        `${count((o) => o.kind === "other name and content")} other name and content, ${count((o) => o.kind === "other content")} ` +
        `same name other content, ${count((o) => o.kind === "identical")} identical; refused as replays ${count((o) => o.refused)}, ` +
        `other answers ${JSON.stringify(outcomes.filter((o) => !o.refused).slice(0, 5))}; assets stored ${stored.length}, ` +
        `asset notifications ${notified.length}, signature markers ${await markers(dirs)}`,
    );

    expect(count((o) => o.refused)).toBe(200);
    expect(stored).toEqual(captured.map((c) => c.filename).sort());
    for (const c of captured) expect(await sameBytes(join(dirs.assets, c.filename), c.content)).toBe(true);
    expect(await temporaries(dirs.assets)).toEqual([]);
    expect(notified.map((n) => (n.payload as { filename: string }).filename).sort()).toEqual(stored);
    expect(await markers(dirs)).toBe(10);
  });

  it("one signed upload sent to two servers sharing the data at the same moment, 20 times: exactly one accepted each time", async () => {
    const { dirs, a, b } = await twoServers("iot-race-");
    const rounds: string[] = [];
    for (let i = 0; i < 20; i++) {
      const filename = `race-${i}.bin`;
      const content = patternBytes(2000, 7000 + i);
      const fields = signFields(keys.sign, i % 2 === 0 ? 1 : 2, filename, content);
      const answers = await Promise.all(
        [a, b].map(async (s) => {
          const res = await post(s, uploadBody({ fields, filename, content }));
          return refusedAsReplay(res.status, (await res.json()) as { error?: string }) ? "R" : String(res.status);
        }),
      );
      rounds.push(answers.sort().join("+"));
    }
    const stored = (await readdir(dirs.assets)).sort();
    console.log(
      `one upload to two servers at once x20 (R = refused as a replay): ${rounds.join(" ")}; stored ${stored.length}`,
    );
    expect(rounds).toEqual(Array.from({ length: 20 }, () => "200+R"));
    expect(stored).toEqual(Array.from({ length: 20 }, (_, i) => `race-${i}.bin`).sort());
  });
});
