/**
 * Concurrent writes to one config, then reads: once every PUT has answered, the admin read
 * and the device read must both return the file that is on disk, byte for byte, with its
 * ETag, on every filesystem runtime. Before writes to one key were ordered, the cache was
 * updated in the order the writes finished, not the order their renames landed, and a
 * round of 50 concurrent PUTs left a different version cached in 1–8 of 10 rounds.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { npmScript, runtimeAvailable, type SpawnedServer, spawnServer } from "./support/server.js";

const ROUNDS = 20;
const WRITERS = 50;
/** Device reads in flight while the writes land: a read that began before a write must not cache the older bytes. */
const READERS = 50;
const MAC = "aa-bb-cc-00-00-01";

/** Bodies of different sizes (60–160 KB, under the cached-file limit), so the writes take different times. */
const content = (round: number, writer: number) => ({
  round,
  writer,
  pad: "x".repeat(60_000 + ((writer * 7919 + round * 104_729) % 100_000)),
});

const runtimes = [
  { name: "node", command: undefined },
  { name: "deno", command: "start:deno" },
  { name: "bun", command: "start:bun" },
] as const;

for (const runtime of runtimes) {
  const available = runtime.name === "node" || runtimeAvailable(runtime.name);
  describe.skipIf(!available)(`${runtime.name}: reads after concurrent writes`, () => {
    let server: SpawnedServer;
    beforeAll(async () => {
      server = await spawnServer({}, undefined, runtime.command ? npmScript(runtime.command) : undefined);
    });
    afterAll(async () => {
      await server?.cleanup();
    });

    it(`${ROUNDS} rounds of ${WRITERS} concurrent PUTs (and ${READERS} reads) to one MAC: then both reads return the file on disk`, async () => {
      const file = join(server.dataDir, "configs", `${MAC}.json`);
      const wrong: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const reads = Promise.all(
          Array.from({ length: READERS }, () =>
            fetch(`${server.url}/files/configs/${MAC}.json`).then((res) => res.arrayBuffer()),
          ),
        );
        const answers = await Promise.all(
          Array.from({ length: WRITERS }, (_, writer) =>
            fetch(`${server.url}/api/configs/${MAC}`, {
              method: "PUT",
              headers: { "Content-Type": "application/json" },
              body: JSON.stringify({ content: content(round, writer) }),
            }).then(async (res) => {
              await res.arrayBuffer();
              return res.status;
            }),
          ),
        );
        expect(answers.every((status) => status === 200)).toBe(true);
        await reads;

        const onDisk = await readFile(file);
        const diskEtag = `"${createHash("sha256").update(onDisk).digest("hex")}"`;
        const diskWriter = (JSON.parse(onDisk.toString("utf8")) as { writer: number }).writer;
        const admin = (await (await fetch(`${server.url}/api/configs/${MAC}`)).json()) as {
          content: { round: number; writer: number };
        };
        const device = await fetch(`${server.url}/files/configs/${MAC}.json`);
        const deviceBytes = Buffer.from(await device.arrayBuffer());
        if (admin.content.round !== round || admin.content.writer !== diskWriter) {
          wrong.push(`round ${round}: admin read writer ${admin.content.writer}, disk holds ${diskWriter}`);
        }
        if (!deviceBytes.equals(onDisk) || device.headers.get("etag") !== diskEtag) {
          wrong.push(`round ${round}: device read differs from the file on disk`);
        }
      }
      expect(wrong).toEqual([]);
    }, 180_000);
  });
}
