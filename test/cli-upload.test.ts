/**
 * iot-upload end to end: the command run as a user runs it (`node bin/iot-upload.mjs`,
 * and `npx iot-upload`), against a real spawned server, with real keys and files.
 * Progress on a terminal is checked under a real pseudo-terminal (util-linux `script`).
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { once } from "node:events";
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UPLOAD_BIN as BIN, type Finished, type Running, runUpload, start } from "./support/cli-run.js";
import { testKeys } from "./support/keys.js";
import { closedPort, onPseudoTerminal, shellQuote } from "./support/pseudo-terminal.js";
import { type SpawnedServer, spawnServer } from "./support/server.js";
import { freshTimestamp } from "./support/upload-stream.js";
import { waitUntil } from "./support/wait.js";

/** A deadline for one test of a few CLI runs on a loaded machine, not an expectation of speed. */
const CLI_TEST_MS = 180_000;
const CORRELATION = /correlation id: [\w=-]{8,}/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape codes are what must be absent
const ANSI = /\u001b\[/;

const cli = runUpload;

/**
 * Runs to the end while reading the process's peak resident memory (Linux VmHWM, a
 * high-water mark, so a late reading holds the peak so far).
 */
async function withPeakMemory(running: Running): Promise<{ run: Finished; peakKiB: number }> {
  let peakKiB = 0;
  let failure: unknown;
  const timer = setInterval(() => {
    readFile(`/proc/${running.child.pid}/status`, "utf8").then(
      (text) => {
        peakKiB = Math.max(peakKiB, Number(/VmHWM:\s+(\d+) kB/.exec(text)?.[1] ?? 0));
      },
      (error: NodeJS.ErrnoException) => {
        // ENOENT/ESRCH: the process has just exited, and the last reading stands.
        if (error.code !== "ENOENT" && error.code !== "ESRCH") failure = error;
      },
    );
  }, 20);
  const run = await running.finished;
  clearInterval(timer);
  if (failure) throw failure;
  return { run, peakKiB };
}

/** Occupies an upload slot: a request whose body starts and then stalls. */
async function stalledUpload(url: string): Promise<Socket> {
  const { hostname, port, host } = new URL(url);
  const socket = connect(Number(port), hostname);
  await once(socket, "connect");
  socket.write(
    `POST /api/assets HTTP/1.1\r\nHost: ${host}\r\nContent-Type: multipart/form-data; boundary=held\r\n` +
      `Content-Length: 1000000\r\n\r\n--held\r\nContent-Disposition: form-data; name="file"; filename="held.bin"\r\n\r\npartial`,
  );
  return socket;
}

describe("iot-upload", () => {
  const keys = testKeys();
  let dir: string;
  let server: SpawnedServer;
  const extraServers: SpawnedServer[] = [];
  const path = (name: string) => join(dir, name);
  let firmware: Buffer;
  /** --server and --key for the main server and the matching key. */
  let target: string[];

  const assets = (s: SpawnedServer) => readdir(join(s.dataDir, "assets"));
  const stored = (s: SpawnedServer, name: string) => readFile(join(s.dataDir, "assets", name));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "iot-upload-test-"));
    firmware = randomBytes(3 * 1024 * 1024);
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    await Promise.all([
      // Readable by the owner only, as a private key should be (others get a warning on stderr).
      writeFile(path("key.pem"), keys.pkcs8, { mode: 0o600 }),
      writeFile(path("key-rsa.pem"), keys.pkcs1, { mode: 0o600 }),
      writeFile(path("public.pem"), keys.spki),
      writeFile(path("other.pem"), other.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 }),
      writeFile(path("firmware.bin"), firmware),
      writeFile(path("big.bin"), randomBytes(4 * 1024 * 1024)),
    ]);
    server = await spawnServer({ SIGNING_KEY: keys.spki });
    target = ["--server", server.url, "--key", path("key.pem")];
  });

  afterAll(async () => {
    await Promise.all([server?.cleanup(), ...extraServers.map((s) => s.cleanup())]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    "uploads with a version 2 signature: stored byte for byte, one result line, plain progress lines off a terminal",
    async () => {
      const run = await cli([path("firmware.bin"), ...target]);
      expect(run.stderr).not.toContain("iot-upload:");
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^uploaded firmware\.bin \(3145728 bytes\) at \d{4}-\d{2}-\d{2}T[^\n]+\n$/);
      expect((await stored(server, "firmware.bin")).equals(firmware)).toBe(true);
      // Not a terminal: start line, percent lines, end line; no carriage returns, no ANSI codes.
      expect(run.stderr).not.toContain("\r");
      expect(run.stderr).not.toMatch(ANSI);
      const lines = run.stderr.trimEnd().split("\n");
      expect(lines[0]).toContain("uploading");
      expect(lines.filter((l) => /\d+% .*\/s .*ETA/.test(l)).length).toBeGreaterThanOrEqual(2);
      expect(lines.length).toBeLessThanOrEqual(12);
      expect(lines.at(-1)).toMatch(/sent 3\.0 MiB of 3\.0 MiB/);
    },
    CLI_TEST_MS,
  );

  it(
    "uploads with --v1 (timestamp-only signature) and a PKCS#1 key under another --name",
    async () => {
      const run = await cli([
        path("firmware.bin"),
        "--v1",
        "--name",
        "firmware-v1.bin",
        ...target.slice(0, 2),
        "--key",
        path("key-rsa.pem"),
      ]);
      expect(run.stderr).not.toContain("iot-upload:");
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^uploaded firmware-v1\.bin \(3145728 bytes\) at /);
      expect((await stored(server, "firmware-v1.bin")).equals(firmware)).toBe(true);
    },
    CLI_TEST_MS,
  );

  it(
    "runs as `npx iot-upload` (this repository's bin), with --server and --key from the environment",
    async () => {
      const run = await start("npx", ["iot-upload", path("firmware.bin"), "--name", "via-npx.bin"], {
        IOT_SERVER_URL: server.url,
        IOT_SIGNING_KEY_PATH: path("key.pem"),
        npm_config_update_notifier: "false",
      }).finished;
      expect(run.stderr).not.toContain("iot-upload:");
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^uploaded via-npx\.bin \(3145728 bytes\) at /);
      expect((await stored(server, "via-npx.bin")).equals(firmware)).toBe(true);
    },
    CLI_TEST_MS,
  );

  it.each([
    ["version 2", []],
    ["version 1", ["--v1"]],
  ])(
    "refuses with a key the server does not know (%s): exit 1, says the key does not match, nothing stored",
    async (_, flags) => {
      const run = await cli([
        path("firmware.bin"),
        "--name",
        "wrong-key.bin",
        ...flags,
        ...target.slice(0, 2),
        "--key",
        path("other.pem"),
      ]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("400 VALIDATION_FAILED");
      expect(run.stderr).toContain("field signature: the server's key does not match --key");
      expect(run.stderr).toMatch(CORRELATION);
      expect(run.stdout).toBe("");
      expect(await assets(server)).not.toContain("wrong-key.bin");
    },
    CLI_TEST_MS,
  );

  it(
    "refuses a replayed signature (the same --timestamp twice): exit 1, explains it was already used, stores nothing new",
    async () => {
      const args = [path("firmware.bin"), "--name", "replay.bin", "--timestamp", freshTimestamp(), ...target];
      const first = await cli([...args, "--quiet"]);
      expect(first.stderr).toBe("");
      expect(first.stdout).toBe("");
      expect(first.code).toBe(0);
      const listing = await assets(server);
      const before = await stat(join(server.dataDir, "assets", "replay.bin"));

      const second = await cli(args);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain("400 VALIDATION_FAILED");
      expect(second.stderr).toMatch(/already used/);
      expect(second.stderr).toMatch(CORRELATION);
      expect(await assets(server)).toEqual(listing);
      const after = await stat(join(server.dataDir, "assets", "replay.bin"));
      expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    },
    CLI_TEST_MS,
  );

  it(
    "explains 413 with the server's limit when the upload is larger than MAX_UPLOAD_BYTES",
    async () => {
      const small = await spawnServer({ SIGNING_KEY: keys.spki, MAX_UPLOAD_BYTES: "65536" });
      extraServers.push(small);
      const run = await cli([path("firmware.bin"), "--server", small.url, "--key", path("key.pem")]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("413 PAYLOAD_TOO_LARGE");
      expect(run.stderr).toContain("at most 64.0 KiB (65536 bytes)");
      expect(run.stderr).toMatch(CORRELATION);
      expect(await assets(small)).toEqual([]);
    },
    CLI_TEST_MS,
  );

  it(
    "exits 3 with a clear message when nothing listens at --server",
    async () => {
      const port = await closedPort();
      const run = await cli([path("firmware.bin"), "--server", `http://127.0.0.1:${port}`, "--key", path("key.pem")]);
      expect(run.code).toBe(3);
      expect(run.stderr).toContain(`nothing is listening at 127.0.0.1:${port} (ECONNREFUSED)`);
      expect(run.stdout).toBe("");
    },
    CLI_TEST_MS,
  );

  it.each<[string, (p: (name: string) => string, url: string) => string[], RegExp]>([
    ["no arguments", () => [], /missing the file to upload/],
    [
      "an unknown option",
      (p, url) => [p("firmware.bin"), "--bogus", "--server", url, "--key", p("key.pem")],
      /--bogus/,
    ],
    ["no --server", (p) => [p("firmware.bin"), "--key", p("key.pem")], /missing --server URL/],
    ["no --key", (p, url) => [p("firmware.bin"), "--server", url], /missing --key/],
    [
      "two files",
      (p, url) => [p("firmware.bin"), p("big.bin"), "--server", url, "--key", p("key.pem")],
      /expected one file/,
    ],
    [
      "--retries that is not a number",
      (p, url) => [p("firmware.bin"), "--server", url, "--key", p("key.pem"), "--retries", "many"],
      /--retries/,
    ],
    [
      "a --server that is not http",
      (p) => [p("firmware.bin"), "--server", "ftp://example.com", "--key", p("key.pem")],
      /http:\/\//,
    ],
    [
      "a --timestamp that is not ISO 8601",
      (p, url) => [p("firmware.bin"), "--server", url, "--key", p("key.pem"), "--timestamp", "yesterday"],
      /--timestamp/,
    ],
  ])(
    "exits 2 with the usage text on %s",
    async (_, args, message) => {
      const run = await cli(args(path, server.url));
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toContain("Usage: iot-upload <file>");
      expect(run.stdout).toBe("");
    },
    CLI_TEST_MS,
  );

  it.each<[string, (p: (name: string) => string) => string[], RegExp]>([
    [
      "a file that does not exist",
      (p) => [p("missing.bin"), "--key", p("key.pem")],
      /cannot read .*missing\.bin: no such file/,
    ],
    [
      "a public key as --key",
      (p) => [p("firmware.bin"), "--key", p("public.pem")],
      /holds a public key or certificate/,
    ],
    ["a --key that is not a key", (p) => [p("firmware.bin"), "--key", p("firmware.bin")], /is not a PEM private key/],
  ])(
    "exits 2 on %s, before contacting the server",
    async (_, args, message) => {
      const run = await cli([...args(path), "--server", server.url]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe("");
    },
    CLI_TEST_MS,
  );

  it.runIf(process.platform === "linux")(
    "streams: uploading a 192 MiB file takes no more memory than a 1 MiB one, give or take 64 MiB (Linux: reads /proc)",
    async () => {
      const roomy = await spawnServer({ SIGNING_KEY: keys.spki, MAX_UPLOAD_BYTES: String(256 * 1024 * 1024) });
      extraServers.push(roomy);
      const chunk = randomBytes(1024 * 1024);
      await writeFile(path("small.bin"), chunk);
      await writeFile(path("large.bin"), Buffer.alloc(0));
      for (let i = 0; i < 192; i++) await appendFile(path("large.bin"), chunk);
      const upload = (name: string) =>
        withPeakMemory(
          start(process.execPath, [BIN, path(name), "--quiet", "--server", roomy.url, "--key", path("key.pem")]),
        );
      const small = await upload("small.bin");
      expect(small.run.code).toBe(0);
      const large = await upload("large.bin");
      expect(large.run.stderr).toBe("");
      expect(large.run.code).toBe(0);
      expect(small.peakKiB).toBeGreaterThan(0);
      // Holding the file would add its whole 192 MiB (what Node 20's fetch does unless told not to follow redirects).
      expect(large.peakKiB - small.peakKiB).toBeLessThan(64 * 1024);
      expect((await stat(join(roomy.dataDir, "assets", "large.bin"))).size).toBe(192 * 1024 * 1024);
    },
    CLI_TEST_MS,
  );

  it(
    "prints help on stdout and exits 0",
    async () => {
      const run = await cli(["--help"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("Usage: iot-upload <file>");
      expect(run.stdout).toContain("Exit status:");
    },
    CLI_TEST_MS,
  );

  it(
    "redraws one progress line with percent, rate and ETA on a terminal",
    async () => {
      const command = [process.execPath, BIN, path("big.bin"), ...target].map(shellQuote).join(" ");
      const run = await onPseudoTerminal(command).finished;
      expect(run.code).toBe(0);
      // The terminal merges stdout and stderr: progress frames, each starting with \r, then the result.
      const frames = run.stdout
        .split("\r")
        .filter((f) => /\b\d{1,3}% .* \d+(\.\d)? (B|KiB|MiB|GiB)\/s +ETA \d/.test(f));
      expect(frames.length).toBeGreaterThanOrEqual(3);
      const percents = new Set(frames.map((f) => /(\d{1,3})%/.exec(f)?.[1]));
      expect(percents.size).toBeGreaterThanOrEqual(3);
      expect(frames.some((f) => f.includes("[") && f.includes("]"))).toBe(true);
      expect(run.stdout).toMatch(/uploaded big\.bin \(4194304 bytes\) at /);
    },
    CLI_TEST_MS,
  );

  it(
    "explains SERVER_BUSY with its Retry-After, and with --retries waits and succeeds once a slot is free",
    async () => {
      // One upload slot, and a stalled upload that the server does not cut while the test runs.
      const busy = await spawnServer({
        SIGNING_KEY: keys.spki,
        MAX_CONCURRENT_UPLOADS: "1",
        UPLOAD_IDLE_TIMEOUT_MS: "600000",
      });
      extraServers.push(busy);
      const held = await stalledUpload(busy.url);
      // The server may reset the stalled connection once it gives up on it; that ends it either way.
      held.on("error", () => held.destroy());
      try {
        // Wait until the stalled upload holds the only slot: a probe is then refused as busy.
        await waitUntil("the stalled upload to occupy the only upload slot", async () => {
          const probe = await fetch(`${busy.url}/api/assets`, {
            method: "POST",
            headers: { "Content-Type": "multipart/form-data; boundary=x" },
            body: "--x--\r\n",
          });
          await probe.body?.cancel();
          return probe.status === 503;
        });
        const refused = await cli([
          path("firmware.bin"),
          "--name",
          "busy.bin",
          "--server",
          busy.url,
          "--key",
          path("key.pem"),
        ]);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain("503 SERVER_BUSY");
        expect(refused.stderr).toMatch(/too many uploads at once; try again in \d+ s \(Retry-After\)/);
        expect(refused.stderr).toMatch(CORRELATION);

        const retrying = start(process.execPath, [
          BIN,
          path("firmware.bin"),
          "--name",
          "busy.bin",
          "--retries",
          "3",
          "--server",
          busy.url,
          "--key",
          path("key.pem"),
        ]);
        await waitUntil("the command to say it will retry", () => retrying.stderr().includes("retrying in"), 120_000);
        held.destroy();
        const run = await retrying.finished;
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(/^uploaded busy\.bin \(3145728 bytes\) at /);
        expect((await stored(busy, "busy.bin")).equals(firmware)).toBe(true);
      } finally {
        held.destroy();
      }
    },
    CLI_TEST_MS,
  );
});
