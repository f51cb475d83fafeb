/**
 * iot-upload against a hostile server (issue 16): the real
 * command (`node bin/iot-upload.mjs`) against a real local HTTP server that misbehaves
 * on purpose (test/support/hostile-server.ts writes its answers byte for byte).
 */
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { startUpload } from "./support/cli-run.js";
import { type Answer, head, sendJson } from "./support/hostile-server.js";
import { CLI_TEST_MS, uploadFixture, uploadResult } from "./support/upload-fixture.js";
import { waitUntil } from "./support/wait.js";

/** What a terminal would obey: controls (C0, DEL, C1), format characters (bidi overrides), separators. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;
/** Output lines without their line breaks must hold nothing a terminal would act on. */
const terminalSafe = (text: string) => !UNSAFE.test(text.replaceAll("\n", ""));
/** The reason phrase and headers are bytes; this writes a string's UTF-8 bytes through head()'s latin1. */
const utf8Bytes = (text: string) => Buffer.from(text, "utf8").toString("latin1");
const HOSTILE = "\u001b]0;owned\u0007\u001b[2J\u001b[31mred\u009b2J\u202egnp.exe";
const HOSTILE_SHOWN = "\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mred\\x9b2J\\u202egnp.exe";

/** Resolves when the socket can take more, or is closed (an `error` comes with a `close`, so it resolves too). */
const drainedOrClosed = (socket: Socket) =>
  new Promise<void>((resolve) => {
    const done = () => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.on("drain", done);
    socket.on("close", done);
  });

describe("iot-upload against a hostile server", () => {
  const { path, serve, upload, busyOnce } = uploadFixture();

  describe("prints no server string raw", () => {
    it(
      "escapes terminal controls and bidi overrides in the echoed filename, and bounds its length",
      async () => {
        const server = await serve((socket) =>
          sendJson(socket, "200 OK", uploadResult(`${HOSTILE}${"A".repeat(20_000)}`)),
        );
        const run = await upload(server);
        expect(run.code).toBe(0);
        expect(terminalSafe(run.stdout)).toBe(true);
        expect(run.stdout).toContain(`uploaded ${HOSTILE_SHOWN}AAAA`);
        expect(run.stdout).toMatch(/… \(\d+ more characters\) \(12 bytes\) at /);
        expect(run.stdout.length).toBeLessThan(1000);
      },
      CLI_TEST_MS,
    );

    it(
      "escapes the reason phrase of an answer that is not the server's JSON error",
      async () => {
        const server = await serve((socket) => {
          const body = "<html>bad gateway</html>";
          const answerHead = head(`502 Bad ${utf8Bytes(HOSTILE)}`, {
            "Content-Type": "text/html",
            "Content-Length": body.length,
            // obs-text: fetch decodes header bytes as latin1, so 0x9b arrives as the C1 control CSI.
            "X-Request-Id": "id\x9b2J",
            Connection: "close",
          });
          socket.end(Buffer.concat([answerHead, Buffer.from(body)]));
        });
        const run = await upload(server);
        expect(run.code).toBe(1);
        expect(terminalSafe(run.stderr)).toBe(true);
        expect(run.stderr).toContain(`the server refused the upload: HTTP 502 Bad ${HOSTILE_SHOWN}`);
        expect(run.stderr).toContain("correlation id: id\\x9b2J");
      },
      CLI_TEST_MS,
    );

    it(
      "escapes the error message, code, correlation id and Date of a JSON error, and bounds the message",
      async () => {
        const server = await serve((socket) =>
          sendJson(
            socket,
            "400 Bad Request",
            {
              error: `${HOSTILE}${"B".repeat(20_000)}`,
              code: "VALIDATION_FAILED",
              status: 400,
              details: { field: "timestamp" },
              correlationId: `corr${HOSTILE}`,
            },
            { Date: "Thu, 01 Jan 2026 00:00:00 GMT\x9b2J" },
          ),
        );
        const run = await upload(server);
        expect(run.code).toBe(1);
        expect(terminalSafe(run.stderr)).toBe(true);
        expect(run.stderr).toContain(`(400 VALIDATION_FAILED): ${HOSTILE_SHOWN}BBBB`);
        expect(run.stderr).toMatch(/B… \(\d+ more characters\)\n/);
        expect(run.stderr).toContain(`correlation id: corr${HOSTILE_SHOWN}`);
        expect(run.stderr).toContain("server: Thu, 01 Jan 2026 00:00:00 GMT\\x9b2J");
        for (const line of run.stderr.split("\n")) expect(line.length).toBeLessThan(1000);
      },
      CLI_TEST_MS,
    );
  });

  describe("reads at most 64 KiB of an answer", () => {
    /** The body the server offers: what the issue measured (600 MB → 1.3 GB RSS in the client). */
    const DECLARED_BYTES = 600 * 1024 * 1024;
    /**
     * The server stops here: far past anything a bounded client lets through (64 KiB read,
     * plus what the kernel's socket buffers and fetch's stream queue hold before the
     * connection closes, a few MiB), yet small enough not to load a shared machine when a
     * client reads it all.
     */
    const SERVER_GIVES_UP_AT = 96 * 1024 * 1024;
    const CLIENT_BOUND = 32 * 1024 * 1024;
    const CHUNK = Buffer.alloc(64 * 1024, "x");

    /** Writes a huge body at the client's pace, until it hangs up or SERVER_GIVES_UP_AT; resolves with the bytes written. */
    const streamHuge = (statusLine: string, written: (bytes: number) => void): Answer =>
      async function hugeBody(socket: Socket) {
        socket.write(
          head(statusLine, { "Content-Type": "text/plain", "Content-Length": DECLARED_BYTES, Connection: "close" }),
        );
        let bytes = 0;
        while (bytes < SERVER_GIVES_UP_AT && !socket.destroyed) {
          bytes += CHUNK.byteLength;
          // Backpressure: wait until the client has taken what was written, or has gone.
          if (!socket.write(CHUNK)) await drainedOrClosed(socket);
        }
        written(bytes);
        socket.destroy();
      };

    it.each([
      ["an error answer", "500 Internal Server Error", 1, /HTTP 500 Internal Server Error/],
      ["a success answer", "200 OK", 1, /answered 200 but not with an upload result/],
    ])(
      "%s with a 600 MB body: stops reading and closes the connection",
      async (_, statusLine, exitCode, headline) => {
        let written: number | undefined;
        const server = await serve(
          streamHuge(statusLine, (bytes) => {
            written = bytes;
          }),
        );
        const run = await upload(server);
        expect(run.stderr).toMatch(headline);
        expect(run.stderr).toContain("longer than 64.0 KiB, and iot-upload read no more of it");
        expect(run.code).toBe(exitCode);
        const bytes = await waitUntil("the server to stop writing", () => written);
        expect(bytes).toBeLessThan(CLIENT_BOUND);
      },
      CLI_TEST_MS,
    );
  });

  describe("caps Retry-After at 300 s", () => {
    it.each([
      ["a day in seconds", "100000"],
      ["more seconds than setTimeout can count (it would fire at once)", "99999999999"],
      ["an HTTP-date a day ahead", () => new Date(Date.now() + 86_400_000).toUTCString()],
      ["an asctime date in 2100", () => "Fri Jan  1 00:00:00 2100"],
    ])(
      "%s: says it waits 300 s, and does not retry meanwhile",
      async (_, value) => {
        const server = await busyOnce(typeof value === "string" ? value : value());
        const running = startUpload([
          path("firmware.bin"),
          "--server",
          server.url,
          "--key",
          path("key.pem"),
          "--retries",
          "1",
        ]);
        try {
          await waitUntil("the command to say it will retry", () => running.stderr().includes("retrying in"), 60_000);
          expect(running.stderr()).toMatch(
            /retrying in 300 s \(it asked for longer; iot-upload waits at most 300 s\) \(retry 1 of 1\)/,
          );
          expect(server.requests).toHaveLength(1);
        } finally {
          running.child.kill();
          await running.finished;
        }
        expect(server.requests).toHaveLength(1);
      },
      CLI_TEST_MS,
    );

    it(
      "an invalid Retry-After (-1) is treated as absent: waits the default 5 s, then succeeds",
      async () => {
        const server = await busyOnce("-1");
        const run = await upload(server, "--retries", "1");
        expect(run.stderr).toMatch(/retrying in 5 s \(retry 1 of 1\)/);
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(/^uploaded firmware\.bin \(12 bytes\) at /);
        expect(server.requests).toHaveLength(2);
      },
      CLI_TEST_MS,
    );
  });
});
