/**
 * Server faults: killed mid-write, and oversized uploads. Each scenario prints its figures.
 */

import { readdir, readFile } from "node:fs/promises";
import { request } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { spawnServer } from "../support/server.js";
import { mac, sleep, startBundled } from "./support.js";

const GiB = 1024 ** 3;

describe("fault suite: the server", () => {
  it("killed with SIGKILL during writes, 20 times: every config parses, no temporary file after the next start", async () => {
    const first = await startBundled({});
    // The rounds below share the first server's folder; its cleanup() removes it, whatever the outcome.
    onTestFinished(() => first.cleanup());
    const dataDir = first.dataDir;
    await first.stop("SIGKILL");
    let writes = 0;
    let temporaries = 0;
    for (let round = 0; round < 20; round++) {
      const server = await spawnServer({ DATA_DIR: dataDir }, "dist/node.mjs", {
        command: process.execPath,
        args: ["dist/node.mjs"],
      });
      onTestFinished(() => server.cleanup());
      const leftovers = [
        ...(await readdir(join(dataDir, "configs"))),
        ...(await readdir(join(dataDir, "assets"))),
      ].filter((n) => n.endsWith(".tmp"));
      expect(leftovers).toEqual([]);
      let stop = false;
      const lanes = Array.from({ length: 8 }, async (_, lane) => {
        for (let i = 0; !stop; i++) {
          try {
            const big = "x".repeat(((i * 7919 + lane) % 50) * 1000);
            await fetch(`${server.url}/api/configs/${mac((lane * 7 + i) % 40)}`, {
              method: "PUT",
              headers: { "Content-Type": "application/json" },
              body: JSON.stringify({ content: { lane, i, big } }),
            });
            writes++;
          } catch {
            // The server is being killed: failed requests are expected here.
            return;
          }
        }
      });
      await sleep(100 + Math.random() * 500);
      server.child.kill("SIGKILL");
      stop = true;
      await Promise.all(lanes);
      await server.exited;
      const names = await readdir(join(dataDir, "configs"));
      temporaries += names.filter((n) => n.endsWith(".tmp")).length;
      for (const name of names.filter((n) => n.endsWith(".json"))) {
        const parsed = JSON.parse(await readFile(join(dataDir, "configs", name), "utf8"));
        expect(typeof parsed).toBe("object");
      }
    }
    const last = await startBundled({ DATA_DIR: dataDir });
    onTestFinished(() => last.cleanup());
    const after = [...(await readdir(join(dataDir, "configs"))), ...(await readdir(join(dataDir, "assets")))];
    console.log(
      `kill -9 x20: ${writes} writes answered, ${temporaries} temporary files found right after the kills, ${after.filter((n) => n.endsWith(".tmp")).length} after the next start, ${after.length} configs`,
    );
    expect(after.filter((n) => n.endsWith(".tmp"))).toEqual([]);
    const list = (await (await fetch(`${last.url}/api/configs`)).json()) as { count: number };
    expect(list.count).toBe(after.filter((n) => n.endsWith(".json")).length);
  });

  /** Sends a 1 GiB body as fast as the server reads it; stops as soon as the server answers. */
  function hugeUpload(url: string, headers: Record<string, string>) {
    return new Promise<{ status: number; sentBytes: number; body: string }>((resolve, reject) => {
      const target = new URL(`${url}/api/assets`);
      let sent = 0;
      let answered = false;
      const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: "POST", headers });
      const chunk = Buffer.alloc(1024 * 1024, 7);
      const pump = () => {
        while (!answered && sent < GiB) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once("drain", pump);
            return;
          }
        }
        if (!answered) req.end();
      };
      req.on("response", (res) => {
        answered = true;
        let body = "";
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, sentBytes: sent, body });
          req.destroy();
        });
      });
      req.on("error", (error) => {
        if (!answered) reject(error);
      });
      pump();
    });
  }

  it("a 1 GiB upload against a 10 MiB limit: 413 with Content-Length (before the body is read) and chunked, nothing written", async () => {
    const server = await startBundled({ MAX_UPLOAD_BYTES: String(10 * 1024 * 1024) });
    try {
      const type = { "Content-Type": "multipart/form-data; boundary=xyz" };
      const declared = await hugeUpload(server.url, { ...type, "Content-Length": String(GiB) });
      const streamed = await hugeUpload(server.url, { ...type, "Transfer-Encoding": "chunked" });
      console.log(
        `1 GiB vs 10 MiB limit: Content-Length → ${declared.status} after ${(declared.sentBytes / 2 ** 20).toFixed(0)} MiB sent; chunked → ${streamed.status} after ${(streamed.sentBytes / 2 ** 20).toFixed(0)} MiB sent`,
      );
      for (const result of [declared, streamed]) {
        expect(result.status).toBe(413);
        expect(JSON.parse(result.body)).toMatchObject({ code: "PAYLOAD_TOO_LARGE", status: 413 });
      }
      // With a declared length the answer comes before the body is read: only what the socket buffered was sent.
      expect(declared.sentBytes).toBeLessThan(64 * 1024 * 1024);
      expect(streamed.sentBytes).toBeLessThan(GiB);
      expect(await readdir(join(server.dataDir, "assets"))).toEqual([]);
    } finally {
      await server.cleanup();
    }
  });

  it("Content-Length together with Transfer-Encoding is refused (request smuggling guard) in the API's error shape, nothing written", async () => {
    const server = await startBundled({ MAX_UPLOAD_BYTES: String(10 * 1024 * 1024) });
    try {
      const target = new URL(server.url);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(target.port), target.hostname, () => {
          socket.write(
            `POST /api/assets HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=xyz\r\nContent-Length: ${GiB}\r\nTransfer-Encoding: chunked\r\n\r\n`,
          );
        });
        let data = "";
        socket.on("data", (d) => {
          data += d;
        });
        socket.on("close", () => resolve(data));
        socket.on("error", (error) => (data ? resolve(data) : reject(error)));
      });
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
      console.log(`Content-Length + Transfer-Encoding: answered ${status}`);
      expect([400, 413]).toContain(status);
      const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as { code: string; status: number };
      expect(body.status).toBe(status);
      expect(await readdir(join(server.dataDir, "assets"))).toEqual([]);
    } finally {
      await server.cleanup();
    }
  });
});
