/**
 * Slow bodies cannot lock others out (issue 16's re-probe, reproduced exactly): connections
 * from one address trickling a byte now and then, without credentials, against a real
 * server over real sockets. The attackers connect from 127.0.0.2 (all of 127/8 is
 * loopback on Linux), the legitimate clients from 127.0.0.1.
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { multipart } from "./support/app.js";
import { testKeys } from "./support/keys.js";
import { npmScript, runtimeAvailable, type SpawnedServer, spawnServer } from "./support/server.js";
import { freshTimestamp } from "./support/upload-stream.js";
import { waitUntil } from "./support/wait.js";

const ATTACKER = "127.0.0.2";

interface RawClient {
  socket: Socket;
  /** Everything the server has answered so far. */
  answer(): string;
  closed: Promise<void>;
}

/** Opens a connection from `from` and sends `head`; nothing more unless the test writes it. */
function rawRequest(url: string, from: string, head: string): RawClient {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port), localAddress: from });
  let received = "";
  socket.on("data", (d) => {
    received += d;
  });
  // A reset after the server cut the connection is expected; the test reads what was answered.
  socket.on("error", () => socket.destroy());
  const closed = new Promise<void>((done) => socket.on("close", () => done()));
  socket.write(head);
  return { socket, answer: () => received, closed };
}

const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);

const runtimes = [
  { name: "node", script: undefined },
  { name: "deno", script: "start:deno" },
  { name: "bun", script: "start:bun" },
] as const;

for (const runtime of runtimes) {
  describe.skipIf(runtime.script !== undefined && !runtimeAvailable(runtime.name))(
    `${runtime.name}: slow bodies from one address`,
    () => {
      const keys = testKeys();
      let server: SpawnedServer;
      const clients: RawClient[] = [];
      beforeAll(async () => {
        server = await spawnServer(
          { SIGNING_KEY: keys.pkcs1 },
          undefined,
          runtime.script ? npmScript(runtime.script) : undefined,
        );
      });
      afterAll(async () => {
        for (const client of clients) client.socket.destroy();
        await server?.cleanup();
      });

      it("eight uploads trickling with the file first hold at most their address's share; a signed upload from elsewhere gets through; the trickles are cut", async () => {
        const boundary = "trickle";
        const head =
          "POST /api/assets HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
          `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 100000000\r\n\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"\r\n\r\nx`;
        const attackers = Array.from({ length: 8 }, () => rawRequest(server.url, ATTACKER, head));
        clients.push(...attackers);
        // The server's default share is half of its 8 slots: the other four are turned away at once.
        await waitUntil("four attackers to be refused", () => attackers.filter((a) => a.answer() !== "").length >= 4);
        const refused = attackers.filter((a) => a.answer() !== "");
        expect(refused.map((a) => statusOf(a.answer()))).toEqual([503, 503, 503, 503]);
        expect(refused[0]?.answer()).toContain('"max_uploads_per_client":4');

        // Meanwhile a pipeline elsewhere uploads, signed, and is not told the server is busy.
        const timestamp = freshTimestamp();
        const { body, contentType } = multipart([
          { name: "timestamp", value: timestamp },
          { name: "signature", value: keys.sign(timestamp) },
          { name: "file", value: "firmware", filename: "fw.bin" },
        ]);
        const upload = await fetch(`${server.url}/api/assets`, {
          method: "POST",
          headers: { "Content-Type": contentType },
          body,
        });
        expect(upload.status).toBe(200);

        // The four holding a slot fall below the minimum rate within a 10 s window and are cut.
        const holders = attackers.filter((a) => !refused.includes(a));
        await waitUntil("the trickles to be cut", () => holders.every((a) => a.answer() !== ""), 30_000);
        for (const holder of holders) {
          expect(statusOf(holder.answer())).toBe(408);
          expect(holder.answer()).toContain('"min_bytes_per_second":1024');
        }
        const listed = (await (await fetch(`${server.url}/api/health`)).json()) as { status: string };
        expect(listed.status).toBe("healthy");
      }, 60_000);

      // The same rules on every runtime; the config case once, on Node, is enough to show they apply to config bodies.
      if (runtime.name === "node")
        it("twenty config PUTs trickling without admin auth: a slot for at most the address's share after 2 s, then cut; a normal PUT is served meanwhile", async () => {
          const head =
            "PUT /api/configs/aa-bb-cc-dd-ee-ff HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
            'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"content":';
          const trickles = Array.from({ length: 20 }, () => rawRequest(server.url, ATTACKER, head));
          clients.push(...trickles);
          await waitUntil("all but four trickles to be refused", () => trickles.filter((t) => t.answer()).length >= 16);
          const busy = trickles.filter((t) => t.answer() !== "");
          expect(new Set(busy.map((t) => statusOf(t.answer())))).toEqual(new Set([503]));

          const put = await fetch(`${server.url}/api/configs/aa-bb-cc-dd-ee-01`, {
            method: "PUT",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ content: { deviceName: "served" } }),
          });
          expect(put.status).toBe(200);

          const holders = trickles.filter((t) => !busy.includes(t));
          expect(holders).toHaveLength(4);
          await waitUntil("the slow config bodies to be cut", () => holders.every((t) => t.answer() !== ""), 30_000);
          for (const holder of holders) expect(statusOf(holder.answer())).toBe(408);
          // Nothing was stored for any of them.
          expect((await fetch(`${server.url}/api/configs/aa-bb-cc-dd-ee-ff`)).status).toBe(404);
        }, 60_000);
    },
  );
}
