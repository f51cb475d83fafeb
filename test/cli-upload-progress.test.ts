/**
 * iot-upload's progress tells the truth (issue 21): it counts the file's bytes, not the
 * multipart form around them; on a terminal its line is as wide at every redraw, so the bar
 * does not jump; and a request that never connects shows no progress and claims nothing sent.
 * The real command against a real spawned server, on a real pseudo-terminal.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runUpload, UPLOAD_BIN } from "./support/cli-run.js";
import { testKeys } from "./support/keys.js";
import { closedPort, onPseudoTerminal, progressFrames, shellQuote } from "./support/pseudo-terminal.js";
import { type SpawnedServer, spawnServer } from "./support/server.js";

/** A deadline for a few CLI runs against a spawned server on a loaded machine, not an expectation of speed. */
const CLI_TEST_MS = 120_000;
/** "<sent> <unit> / <total> <unit>" in a progress frame. */
const COUNTS = /(\d+(?:\.\d)?) (B|KiB|MiB) \/ (\d+(?:\.\d)?) (B|KiB|MiB) /;

/** The sent and total counts of each frame, with their units. */
function counts(frames: string[]) {
  return frames.map((frame) => {
    const match = COUNTS.exec(frame);
    if (!match) throw new Error(`a progress frame without "<sent> / <total>": ${JSON.stringify(frame)}`);
    return { sent: Number(match[1]), sentUnit: match[2], total: `${match[3]} ${match[4]}` };
  });
}

describe("iot-upload's progress", () => {
  const keys = testKeys();
  let dir: string;
  let server: SpawnedServer;
  const path = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "iot-upload-progress-"));
    await Promise.all([
      writeFile(path("key.pem"), keys.pkcs8, { mode: 0o600 }),
      writeFile(path("tiny.bin"), "hello, ESP32"),
      // 4.1 MiB: its count passes through "0.0 MiB" … "4.0 MiB", which a width tied to the count would follow.
      writeFile(path("big.bin"), randomBytes(4 * 1024 * 1024 + 100_000)),
    ]);
    server = await spawnServer({ SIGNING_KEY: keys.spki });
  });

  afterAll(async () => {
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ["a 12-byte file", "tiny.bin", "12 B", "12", 12],
    ["a 4.1 MiB file", "big.bin", "4.1 MiB", "4.1", 4 * 1024 * 1024 + 100_000],
  ])(
    "on a terminal, %s: every frame is as wide, counts the file's bytes up to its size, and ends at it",
    async (_, name, totalText, lastSent, size) => {
      const command = [process.execPath, UPLOAD_BIN, path(name), "--server", server.url, "--key", path("key.pem")];
      const run = await onPseudoTerminal(command.map(shellQuote).join(" ")).finished;
      expect(run.code, run.stdout).toBe(0);
      expect(run.stdout).toContain(`uploaded ${name} (${size} bytes) at `);
      const frames = progressFrames(run.stdout, name);
      // At least the first frame (0%) and the final one.
      expect(frames.length, run.stdout).toBeGreaterThanOrEqual(2);
      expect(new Set(frames.map((f) => f.length)), JSON.stringify(frames)).toEqual(new Set([frames[0]?.length]));
      const seen = counts(frames);
      for (const frame of seen) {
        // The total is the file's size, not the multipart body's; the count is in its unit and never past it.
        expect(frame.total).toBe(totalText);
        expect(`${frame.sentUnit}`).toBe(totalText.split(" ")[1]);
        expect(frame.sent).toBeLessThanOrEqual(Number(lastSent));
      }
      expect(seen.map((f) => f.sent)).toEqual([...seen.map((f) => f.sent)].sort((a, b) => a - b));
      expect(frames.at(-1)).toContain(`100% ${totalText} / ${totalText} `);
    },
    CLI_TEST_MS,
  );

  it(
    "off a terminal, a 12-byte file: plain lines that say 12 B, not the form's size",
    async () => {
      const run = await runUpload([
        path("tiny.bin"),
        "--name",
        "plain.bin",
        "--server",
        server.url,
        "--key",
        path("key.pem"),
      ]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/^plain\.bin: uploading 12 B\n/);
      expect(run.stderr).toMatch(/\nplain\.bin: sent 12 B of 12 B in [^\n]+\n$/);
      expect(run.stdout).toMatch(/^uploaded plain\.bin \(12 bytes\) at /);
    },
    CLI_TEST_MS,
  );

  it(
    "nothing listening, off a terminal: exit 3 and the error alone, no progress line, nothing said to be sent",
    async () => {
      const port = await closedPort();
      const run = await runUpload([path("tiny.bin"), "--server", `http://127.0.0.1:${port}`, "--key", path("key.pem")]);
      expect(run.code).toBe(3);
      expect(run.stdout).toBe("");
      const lines = run.stderr.trimEnd().split("\n");
      expect(lines[0]).toBe(
        `iot-upload: could not reach the server: nothing is listening at 127.0.0.1:${port} (ECONNREFUSED); is it running, and is --server right?`,
      );
      // The rest is the error's own note (the request id), nothing from the progress.
      expect(lines.slice(1)).toEqual([expect.stringMatching(/^ {2}request id: /)]);
      expect(run.stderr).not.toMatch(/\bsent \d|uploading|tiny\.bin:/);
    },
    CLI_TEST_MS,
  );

  it(
    "nothing listening, on a terminal: exit 3 and the error alone, no progress frame",
    async () => {
      const port = await closedPort();
      const command = [process.execPath, UPLOAD_BIN, path("tiny.bin"), "--server", `http://127.0.0.1:${port}`];
      const run = await onPseudoTerminal([...command, "--key", path("key.pem")].map(shellQuote).join(" ")).finished;
      expect(run.code).toBe(3);
      expect(progressFrames(run.stdout, "tiny.bin")).toEqual([]);
      expect(run.stdout).not.toMatch(/\d+% |\bsent \d/);
      expect(run.stdout).toMatch(/^iot-upload: could not reach the server: nothing is listening at /);
    },
    CLI_TEST_MS,
  );
});
