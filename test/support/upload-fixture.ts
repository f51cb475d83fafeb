/**
 * What the iot-upload tests against a misbehaving server share: a temporary directory
 * with a small file and a private key (mode 0600, so no permission warning), hostile
 * servers closed after each test, and the answers a real server would give.
 * Call `uploadFixture()` inside a `describe`: it registers that block's hooks.
 */

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import { runUpload } from "./cli-run.js";
import { type Answer, type HostileServer, hostileServer, sendJson } from "./hostile-server.js";
import { testKeys } from "./keys.js";

/** A deadline for one test of a few CLI runs on a loaded machine, not an expectation of speed. */
export const CLI_TEST_MS = 120_000;

/** The 200 body of a successful upload of firmware.bin ("hello, ESP32", 12 bytes). */
export const uploadResult = (filename = "firmware.bin") => ({
  filename,
  size: 12,
  uploaded_at: "2026-01-01T00:00:00.000+00:00",
});

/** 503 SERVER_BUSY with this Retry-After, as the server sends it past MAX_CONCURRENT_UPLOADS. */
export function sendBusy(socket: Socket, retryAfter: string): void {
  sendJson(
    socket,
    "503 Service Unavailable",
    { error: "Too many uploads at once", code: "SERVER_BUSY", status: 503, details: {}, correlationId: "busy" },
    { "Retry-After": retryAfter },
  );
}

export function uploadFixture() {
  const keys = testKeys();
  let dir = "";
  let servers: HostileServer[] = [];
  const path = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "iot-upload-hostile-"));
    await writeFile(path("firmware.bin"), "hello, ESP32");
    await writeFile(path("key.pem"), keys.pkcs8, { mode: 0o600 });
  });
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A hostile server, closed after the test. */
  async function serve(answer: Answer): Promise<HostileServer> {
    const server = await hostileServer(answer);
    servers.push(server);
    return server;
  }

  return {
    keys,
    path,
    serve,
    /** A server that answers the first request busy, with this Retry-After, and the next ones with the upload result. */
    busyOnce: (retryAfter: string) =>
      serve((socket, _request, index) =>
        index === 0 ? sendBusy(socket, retryAfter) : sendJson(socket, "200 OK", uploadResult()),
      ),
    /** Uploads firmware.bin with key.pem to `server`, run to the end. */
    upload: (server: HostileServer, ...flags: string[]) =>
      runUpload([path("firmware.bin"), "--server", server.url, "--key", path("key.pem"), ...flags]),
  };
}
