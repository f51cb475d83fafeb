/**
 * README, "A firmware rollout, from upload to completion": its bash blocks run as written
 * against a real server process, and their output matches what the README shows (times
 * aside). What the test supplies, and why:
 * - the server is spawned on a free port with its own DATA_DIR (a fixed port may be taken on a
 *   shared machine), so SERVER is its URL and KEY its development key (the blocks' defaults
 *   name 127.0.0.1:3201 and data/dev-signing-key.pem, the "Quick start" server's);
 * - the three devices' configs are saved first with PUT /api/configs (the walkthrough starts
 *   from a fleet that has them), and each device's folder holds etag.txt with the ETag of that
 *   config, which a device keeps from its previous fetch;
 * - the blocks run in a temporary folder inside the checkout (npx finds the repository's
 *   bins from there), removed afterwards, with an npm cache of their own (see setUp);
 * - instead of a broker, the test notices a wave's release by reading the config file, then
 *   plays the device: the device block as written, with MAC set; the failed report's block
 *   runs after the device block's first three lines (MAC, the fetch, and the `etag` it sends).
 * First run: every device applies, the watch ends `completed` (exit 0). Second run: the first
 * device reports failed, the watch ends `halted` (exit 4), and the rollback block restores
 * its previous config byte for byte.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type Finished, start } from "./support/cli-run.js";
import { ROOT, type SpawnedServer, spawnServer } from "./support/server.js";
import { waitUntil } from "./support/wait.js";

const MACS = ["aa-bb-cc-dd-ee-01", "aa-bb-cc-dd-ee-02", "aa-bb-cc-dd-ee-03"];
const OLD = { version: "1.4.1", url: "/files/assets/fw-1.4.1.bin" };
/** A deadline for a few CLI runs on a loaded machine, not an expectation of speed. */
const RUN_MS = 60_000;

async function block(marker: string): Promise<string> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const match = new RegExp(`<!-- readme-test: ${marker} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!match?.[1]) throw new Error(`README block ${marker} not found`);
  return match[1];
}

/** ISO times and the seconds of a watch line vary from run to run; everything else must match. */
const timeless = (text: string) =>
  text
    .trim()
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z/g, "<time>")
    .replace(/ at \d{4}-[^ ]*$/gm, " at <time>");

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A README block in bash -euo pipefail, in `cwd`, with only PATH, HOME and `env`; stopped after the test. */
function bash(script: string, cwd: string, env: Record<string, string>): Promise<Finished> {
  const run = start("bash", ["-euo", "pipefail", "-c", script], env, cwd);
  cleanups.push(async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGTERM");
    // Whether it ended or failed to start, the test has already seen it through `finished`.
    await Promise.allSettled([run.finished]);
  });
  return run.finished;
}

async function ok(script: string, cwd: string, env: Record<string, string>): Promise<string> {
  const ran = await bash(script, cwd, env);
  expect(ran.code, `${script}\n${ran.stderr}`).toBe(0);
  return ran.stdout;
}

/** A fresh server with the three devices' configs, and a folder per device holding its ETag. */
async function setUp() {
  const server: SpawnedServer = await spawnServer();
  cleanups.push(() => server.cleanup());
  const work = await mkdtemp(join(ROOT, ".readme-rollout-"));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  const env = {
    SERVER: server.url,
    KEY: join(server.dataDir, "dev-signing-key.pem"),
    // npx installs a project's own bins into its cache once per checkout path and never again
    // (npm/cli#9766), so on a machine that ran `npx iot-upload` here before iot-rollout existed,
    // `npx iot-rollout` is "not found". The blocks get an npm cache of their own, as a fresh
    // install has; README's Troubleshooting tells users with an old cache what to do.
    npm_config_cache: join(work, ".npm"),
  };
  const configFile = (mac: string) => join(server.dataDir, "configs", `${mac}.json`);
  for (const mac of MACS) {
    const res = await fetch(`${server.url}/api/configs/${mac}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ content: { deviceName: mac, firmware: OLD } }),
    });
    expect(res.status).toBe(200);
    await mkdir(join(work, mac));
    const bytes = await readFile(configFile(mac));
    await writeFile(join(work, mac, "etag.txt"), `"${createHash("sha256").update(bytes).digest("hex")}"\n`);
  }
  /** Resolves once the rollout saved the device's patched config (what its notification says). */
  const released = (mac: string) =>
    waitUntil(`${mac}'s wave to be released`, async () => {
      const content = JSON.parse(await readFile(configFile(mac), "utf8")) as { firmware: { version: string } };
      return content.firmware.version === "1.4.2";
    });
  return { server, work, env, configFile, released };
}

/** Upload and create, as written; answers the create's output. */
async function uploadAndCreate(work: string, env: Record<string, string>): Promise<string> {
  const uploaded = await ok(await block("rollout-upload"), work, env);
  expect(uploaded).toMatch(/^uploaded fw-1\.4\.2\.bin \(31 bytes\) at /);
  return ok(await block("rollout-create"), work, env);
}

describe("README: a firmware rollout, from upload to completion", () => {
  it(
    "uploads, creates, watches to completed while three devices apply it, as written",
    async () => {
      const { server, work, env, released } = await setUp();
      const created = await uploadAndCreate(work, env);
      expect(timeless(created)).toBe(timeless(await block("rollout-create-output")));
      const watch = bash(await block("rollout-watch"), work, env);

      for (const mac of MACS) {
        await released(mac);
        await ok(await block("rollout-device"), join(work, mac), { ...env, MAC: mac });
      }
      const watched = await watch;
      expect(watched.code, watched.stderr).toBe(0);
      const lines = watched.stdout.trim().split("\n");
      for (const line of lines)
        expect(line).toMatch(/^\S+Z wave \d\/3 \d+% released \d applied \d failed 0 pending \d state \w+$/);
      const shown = timeless(await block("rollout-watch-output")).split("\n");
      // The lines in between depend on when the polls fall; the end does not.
      expect(timeless(lines.at(-1) as string)).toBe(shown.at(-1));

      // Each device now runs 1.4.2 with the rollout's config, as it reported.
      const devices = (await (await fetch(`${server.url}/api/devices`)).json()) as {
        devices: Array<{ firmware_version: string; sync: string; state: string }>;
      };
      expect(devices.devices.map((d) => [d.firmware_version, d.state, d.sync])).toEqual(
        MACS.map(() => ["1.4.2", "ok", "current"]),
      );
    },
    RUN_MS,
  );

  it(
    "halts when the first device reports failed, and the rollback restores its previous config, as written",
    async () => {
      const { work, env, configFile, released } = await setUp();
      const before = await Promise.all(MACS.map((mac) => readFile(configFile(mac), "utf8")));
      await uploadAndCreate(work, env);
      const watch = bash(await block("rollout-watch"), work, env);

      const [first] = MACS as [string];
      await released(first);
      const fetchLines = (await block("rollout-device")).split("\n").slice(0, 3).join("\n");
      await ok(`${fetchLines}\n${await block("rollout-device-failed")}`, join(work, first), { ...env, MAC: first });
      const watched = await watch;
      expect(watched.code, watched.stderr).toBe(4);
      const last = timeless(watched.stdout.trim().split("\n").at(-1) as string);
      expect(last).toBe(
        timeless(await block("rollout-halt-output"))
          .split("\n")
          .at(-1),
      );

      const rolledBack = await ok(await block("rollout-rollback"), work, env);
      expect(timeless(rolledBack)).toBe(timeless(await block("rollout-rollback-output")));
      // The released device has its previous config back, byte for byte; the others never changed.
      expect(await Promise.all(MACS.map((mac) => readFile(configFile(mac), "utf8")))).toEqual(before);
    },
    RUN_MS,
  );
});
