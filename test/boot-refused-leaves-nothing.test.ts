/**
 * A refused boot leaves nothing on disk (issue 21): `DATA_DIR=/tmp/x/new SIGNING_KEY_PATH=/nonexistent`
 * exited 1 naming the key, but left new/{configs,assets,state} behind, and a bad NOTIFY_URL
 * even a freshly generated development key pair. Everything that can refuse the boot is
 * checked first; a boot that succeeds still creates the missing directories (README's
 * Quick start relies on it). Real server processes on a real filesystem: Node, and one
 * case each on Deno and Bun, which boot through the same boot.ts.
 */
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { apartFrom, bootOutcome, expectRefusal } from "./support/boot-outcome.js";
import { caseFolders } from "./support/case-folders.js";
import { npmScript, runtimeAvailable, type SpawnedServer, spawnServer } from "./support/server.js";

/** A deadline for a boot on Deno or Bun (a cold Deno compiles the TypeScript first), not a speed expectation. */
const OTHER_RUNTIME_TEST_MS = 150_000;

/** An empty folder per case; DATA_DIR is `new` inside it, not created. */
const cases = caseFolders("iot-boot-refused-");
const caseDir = () => cases.next();
beforeAll(async () => {
  await writeFile(join(cases.root(), "not-a-key.pem"), "just text\n");
});

/** Each refused setup, the variable its one line names, and the extra environment. */
const REFUSED: Array<[string, string, (dir: string) => Record<string, string>]> = [
  ["a SIGNING_KEY_PATH that does not exist", "SIGNING_KEY_PATH", () => ({ SIGNING_KEY_PATH: "/nonexistent" })],
  [
    "a SIGNING_KEY_PATH that is not a key",
    "SIGNING_KEY_PATH",
    () => ({ SIGNING_KEY_PATH: join(cases.root(), "not-a-key.pem") }),
  ],
  ["a NOTIFY_URL of no known scheme", "NOTIFY_URL", () => ({ NOTIFY_URL: "bogus://x" })],
  ["an https NOTIFY_URL without WEBHOOK_SECRET", "WEBHOOK_SECRET", () => ({ NOTIFY_URL: "https://example.com/hook" })],
  ["the template's REPLACE_ME placeholder", "API_TOKEN_HASHES", () => ({ API_TOKEN_HASHES: "REPLACE_ME" })],
  ["an invalid setting", "PORT", () => ({ PORT: "not-a-port" })],
  [
    "a bad key, with ESP32_CONFIGS_DIR, ASSETS_DIR and STATE_DIR set apart",
    "SIGNING_KEY_PATH",
    (dir) => ({ SIGNING_KEY_PATH: "/nonexistent", ...apartFrom(join(dir, "apart"), []) }),
  ],
];

describe("Node: a refused boot creates no directory", () => {
  it.each(REFUSED)("%s: refused naming it, and nothing under the case's folder", async (_, variable, extra) => {
    const dir = await caseDir();
    const outcome = await bootOutcome({ DATA_DIR: join(dir, "new"), ...extra(dir) });
    expectRefusal(outcome, variable);
    expect(await readdir(dir)).toEqual([]);
  });

  it("a boot that succeeds creates the missing DATA_DIR, its directories and the development key", async () => {
    const dir = await caseDir();
    let server: SpawnedServer | undefined;
    try {
      server = await spawnServer({ DATA_DIR: join(dir, "new") });
      expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
      const created = await readdir(join(dir, "new"));
      expect(created).toEqual(
        expect.arrayContaining(["configs", "assets", "state", "dev-signing-key.pem", "dev-signing-key.pub.pem"]),
      );
    } finally {
      await server?.cleanup();
    }
  });
});

describe.each(["deno", "bun"] as const)("on %s (the same boot.ts)", (runtime) => {
  if (!runtimeAvailable(runtime)) {
    it.skip(`${runtime} SKIPPED: the ${runtime} binary from npm cannot start on this machine`);
    return;
  }
  it(
    "a SIGNING_KEY_PATH that does not exist: refused, and DATA_DIR is not created",
    async () => {
      const dir = await caseDir();
      const env = { DATA_DIR: join(dir, "new"), SIGNING_KEY_PATH: "/nonexistent" };
      expectRefusal(await bootOutcome(env, npmScript(`start:${runtime}`)), "SIGNING_KEY_PATH");
      expect(await readdir(dir)).toEqual([]);
    },
    OTHER_RUNTIME_TEST_MS,
  );
});
