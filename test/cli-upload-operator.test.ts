/**
 * iot-upload and a careless operator (issue 16): credentials in --server are never
 * printed, and a private key file that others can read is used with a warning. The
 * real command (`node bin/iot-upload.mjs`) against a real local HTTP server
 * (test/support/hostile-server.ts).
 */
import { chmod, writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { runUpload } from "./support/cli-run.js";
import { sendJson } from "./support/hostile-server.js";
import { CLI_TEST_MS, uploadFixture, uploadResult } from "./support/upload-fixture.js";

describe("iot-upload and a careless operator", () => {
  const { keys, path, serve, busyOnce } = uploadFixture();

  describe("never prints credentials from --server", () => {
    const SECRET = "s3cr@t-Passw0rd";
    it.each([
      [
        "--server http://user:pass@host",
        (url: string) => ["--server", url.replace("//", `//builder:${SECRET}@`)],
        () => ({}),
      ],
      [
        "IOT_SERVER_URL with user:pass@",
        () => [],
        (url: string) => ({ IOT_SERVER_URL: url.replace("//", `//builder:${SECRET}@`) }),
      ],
      ["an unparsable --server with user:pass@", () => ["--server", `http://builder:${SECRET}@[::1`], () => ({})],
      ["a non-http --server with user:pass@", () => ["--server", `ftp://builder:${SECRET}@example.com/`], () => ({})],
    ])(
      "%s: exit 2, credentials shown as ***, nothing sent",
      async (_, args, env) => {
        const server = await serve((socket) => sendJson(socket, "200 OK", uploadResult()));
        const run = await runUpload(
          [path("firmware.bin"), "--key", path("key.pem"), ...args(server.url)],
          env(server.url),
        );
        expect(run.code).toBe(2);
        expect(run.stderr).toContain("***@");
        expect(run.stderr).not.toContain("s3cr");
        expect(run.stderr).not.toContain("Passw0rd");
        expect(run.stderr).not.toContain("builder");
        expect(server.requests).toHaveLength(0);
      },
      CLI_TEST_MS,
    );
  });

  describe.skipIf(process.platform === "win32")("warns once about a key file others can read (POSIX)", () => {
    it.each([
      ["0644", 0o644, "every user of this machine"],
      ["0640", 0o640, "its group"],
    ])(
      "mode %s: uploads anyway, one warning with the fix, even with --quiet and a retry",
      async (octal, mode, who) => {
        const key = path(`key-${octal}.pem`);
        await writeFile(key, keys.pkcs8);
        await chmod(key, mode);
        const server = await busyOnce("0");
        const run = await runUpload([
          path("firmware.bin"),
          "--server",
          server.url,
          "--key",
          key,
          "--quiet",
          "--retries",
          "1",
        ]);
        expect(run.code).toBe(0);
        expect(server.requests).toHaveLength(2);
        expect(run.stderr).toBe(
          `iot-upload: warning: the private key ${key} is open to ${who} (permissions ${octal}); whoever can read it can sign uploads. Restrict it: chmod 600 ${key}\n`,
        );
      },
      CLI_TEST_MS,
    );
  });
});
