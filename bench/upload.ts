/**
 * A 1 GiB signed upload: throughput and the server's peak memory (VmHWM), against
 * writing the same bytes with `fs` directly (read the file, write it elsewhere,
 * fsync), in the same run. Usage: `npx tsx bench/upload.ts [MiB]` (default 1024).
 */
import { execFile } from "node:child_process";
import { createSign } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, open, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { startServer } from "./support/server.js";
import { isMain, report } from "./support/stats.js";

const run = promisify(execFile);

const peakRssMiB = async (pid: number) => {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
};

async function makeFile(path: string, mib: number) {
  const handle = await open(path, "w");
  const chunk = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mib; i++) {
    chunk.fill(i % 251);
    await handle.write(chunk);
  }
  await handle.close();
}

/** The baseline: the same bytes copied with plain fs streams and flushed to disk. */
async function fsCopy(from: string, to: string): Promise<number> {
  const started = performance.now();
  await pipeline(createReadStream(from, { highWaterMark: 1024 * 1024 }), createWriteStream(to));
  const handle = await open(to, "r+");
  await handle.sync();
  await handle.close();
  return (performance.now() - started) / 1000;
}

export async function uploadBench(mib = 1024): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "iot-bench-upload-"));
  const lines: string[] = [];
  try {
    const file = join(dir, "firmware.bin");
    await makeFile(file, mib);
    const baselineSeconds = await fsCopy(file, join(dir, "copy.bin"));
    await rm(join(dir, "copy.bin"));

    const server = await startServer({ MAX_UPLOAD_BYTES: String(4 * 1024 ** 3) }, [process.execPath, "dist/node.mjs"]);
    try {
      const key = await readFile(join(server.dataDir, "dev-signing-key.pem"), "utf8");
      const timestamp = new Date().toISOString();
      const signature = createSign("sha256").update(timestamp).sign(key).toString("base64");
      const started = performance.now();
      const { stdout } = await run("curl", [
        "-sS",
        "-F",
        `file=@${file}`,
        "-F",
        `timestamp=${timestamp}`,
        "-F",
        `signature=${signature}`,
        `${server.url}/api/assets`,
      ]);
      const seconds = (performance.now() - started) / 1000;
      const peak = await peakRssMiB(server.child.pid as number);
      const stored = await stat(join(server.dataDir, "assets", "firmware.bin"));
      if (stored.size !== mib * 1024 * 1024) throw new Error(`stored ${stored.size} bytes: ${stdout}`);
      lines.push(report(`upload ${mib} MiB throughput`, mib / seconds, "MiB/s", mib / baselineSeconds, 0));
      lines.push(report(`upload ${mib} MiB server peak RSS`, peak, "MiB", undefined, 0));
    } finally {
      await server.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return lines;
}

if (isMain(import.meta.url)) await uploadBench(Number(process.argv[2] ?? 1024));
