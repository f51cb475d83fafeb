/**
 * Device reads from real server processes. On Node, large assets go out through its own
 * file stream (runtimes/node-send-file.ts), so everything the route decides must still
 * hold on that path (ETag, 304, Range, HEAD). On every runtime, clients that hang up
 * leave no file open. A file made unreadable behind the server's back stops being served.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmod, readdir, readlink, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Command, npmScript, runtimeAvailable, type SpawnedServer, spawnServer } from "./support/server.js";
import { waitUntil } from "./support/wait.js";

const ASSET = randomBytes(3 * 1024 * 1024 + 123);
const ETAG = `"${createHash("sha256").update(ASSET).digest("hex")}"`;

/** Descriptors of process `pid` open on a path ending in `suffix`. */
async function openFilesNamed(pid: number, suffix: string): Promise<number> {
  const fds = await readdir(`/proc/${pid}/fd`);
  let count = 0;
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    if (target.endsWith(suffix)) count++;
  }
  return count;
}

/** Asks for the asset over a raw socket, reads the first `bytes` of the answer, and hangs up. */
function readHeadAndHangUp(url: string, path: string, bytes: number): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
    });
    let seen = 0;
    socket.on("data", (chunk: Buffer) => {
      seen += chunk.length;
      if (seen >= bytes) {
        socket.destroy();
        resolve();
      }
    });
    socket.on("error", reject);
    socket.on("close", () => resolve());
  });
}

describe("Node device reads of a large asset (sent as a file stream)", () => {
  let server: SpawnedServer;
  beforeAll(async () => {
    server = await spawnServer();
    await writeFile(join(server.dataDir, "assets", "fw.bin"), ASSET);
  });
  afterAll(() => server?.cleanup());

  it("sends the whole file with its ETag, length and headers", async () => {
    const res = await fetch(`${server.url}/files/assets/fw.bin`);
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(ETAG);
    expect(res.headers.get("content-length")).toBe(String(ASSET.length));
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(Buffer.from(await res.arrayBuffer()).equals(ASSET)).toBe(true);
  });

  it("answers If-None-Match with 304 and no body", async () => {
    const res = await fetch(`${server.url}/files/assets/fw.bin`, { headers: { "If-None-Match": ETAG } });
    expect(res.status).toBe(304);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it("sends exactly the asked range with 206, and a suffix range", async () => {
    const res = await fetch(`${server.url}/files/assets/fw.bin`, { headers: { Range: "bytes=1000-1999999" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes 1000-1999999/${ASSET.length}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(ASSET.subarray(1000, 2_000_000))).toBe(true);
    const tail = await fetch(`${server.url}/files/assets/fw.bin`, { headers: { Range: "bytes=-10" } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(ASSET.subarray(ASSET.length - 10))).toBe(true);
  });

  it("answers HEAD, with or without a range, with headers only", async () => {
    for (const headers of [{}, { Range: "bytes=0-99" }] as Array<Record<string, string>>) {
      const res = await fetch(`${server.url}/files/assets/fw.bin`, { method: "HEAD", headers });
      expect([200, 206]).toContain(res.status);
      expect(res.headers.get("etag")).toBe(ETAG);
      expect((await res.arrayBuffer()).byteLength).toBe(0);
    }
    // The connection is still usable: no stray body bytes were written after the HEAD answers.
    const res = await fetch(`${server.url}/files/assets/fw.bin`, { headers: { Range: "bytes=0-3" } });
    expect(Buffer.from(await res.arrayBuffer()).equals(ASSET.subarray(0, 4))).toBe(true);
  });
});

/** Every runtime: 1,000 clients that read the first KiB of a firmware and hang up leave no file open. */
const RUNTIMES: Array<{ name: string; command?: Command }> = [
  { name: "Node" },
  ...(runtimeAvailable("deno") ? [{ name: "Deno", command: npmScript("start:deno") }] : []),
  ...(runtimeAvailable("bun") ? [{ name: "Bun", command: npmScript("start:bun") }] : []),
];

for (const runtime of RUNTIMES) {
  describe(`${runtime.name}: aborted asset reads`, () => {
    let server: SpawnedServer;
    beforeAll(async () => {
      server = await spawnServer({}, undefined, runtime.command);
      await writeFile(join(server.dataDir, "assets", "fw.bin"), ASSET);
    });
    afterAll(() => server?.cleanup());

    it("close the file for every one of 1,000 clients that read 1 KiB and hang up (an OTA header check)", async () => {
      const pid = server.child.pid as number;
      const path = "/files/assets/fw.bin";
      let next = 0;
      const client = async () => {
        while (next < 1000) {
          next++;
          await readHeadAndHangUp(server.url, path, 1024);
        }
      };
      await Promise.all(Array.from({ length: 25 }, client));
      await waitUntil(
        "every descriptor on fw.bin to be closed",
        async () => (await openFilesNamed(pid, "/assets/fw.bin")) === 0,
      );
      // And the server still serves.
      const res = await fetch(`${server.url}/files/assets/fw.bin`, { headers: { Range: "bytes=0-0" } });
      expect(res.status).toBe(206);
      expect(server.lines().filter((l) => l.level === "error")).toEqual([]);
    });
  });
}

describe("a config made unreadable behind the server's back", () => {
  // As root every file stays readable, so the server runs as `nobody` when the tests run as root.
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
  let server: SpawnedServer;
  beforeAll(async () => {
    server = await spawnServer({}, undefined, undefined, asUser);
  });
  afterAll(() => server?.cleanup());

  it("stops being served once chmod 000, and is served again after chmod 644", async () => {
    const file = join(server.dataDir, "configs", "aa-bb-cc-dd-ee-ff.json");
    const url = `${server.url}/files/configs/aa-bb-cc-dd-ee-ff.json`;
    await writeFile(file, '{"deviceName":"x"}');
    expect((await fetch(url)).status).toBe(200);
    await chmod(file, 0o000);
    await waitUntil("the unreadable config to answer 404", async () => (await fetch(url)).status === 404);
    await chmod(file, 0o644);
    await waitUntil("the readable config to answer 200 again", async () => (await fetch(url)).status === 200);
  });
});
