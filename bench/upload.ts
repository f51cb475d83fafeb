/**
 * A 1 GiB signed upload: throughput and the server's peak memory (VmHWM), against
 * writing the same bytes with `fs` directly (read the file, write it elsewhere,
 * fsync), in the same run; then version 2 signatures (which make the server hash the
 * content before it commits) against version 1 on the same file: 1 GiB throughput, and
 * the p50 of repeated 16 MiB uploads, alternating. Usage: `npx tsx bench/upload.ts [MiB]`.
 */
import { execFile } from "node:child_process";
import { createHash, createSign } from "node:crypto";
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

/** One signed upload with curl (as a build script would send it); resolves with its duration in seconds. */
async function curlUpload(url: string, key: string, file: string, name: string, version: 1 | 2): Promise<number> {
  const timestamp = new Date().toISOString();
  let hash = "";
  if (version === 2) {
    const hasher = createHash("sha256");
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hasher.update(chunk as Buffer);
    hash = hasher.digest("hex");
  }
  const message = version === 1 ? timestamp : `${timestamp}\n${name}\n${hash}`;
  const signature = createSign("sha256").update(message).sign(key).toString("base64");
  const fields = version === 2 ? ["-F", "signature_version=2"] : [];
  const args = ["-sS", "-o", "/dev/null", "-w", "%{http_code}", ...fields];
  args.push("-F", `timestamp=${timestamp}`, "-F", `signature=${signature}`, "-F", `file=@${file};filename=${name}`);
  const started = performance.now();
  const { stdout } = await run("curl", [...args, `${url}/api/assets`]);
  const seconds = (performance.now() - started) / 1000;
  if (stdout !== "200") throw new Error(`upload (version ${version}) answered ${stdout}`);
  return seconds;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

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

      // Version 2 against version 1, same file, same server, same run: three rounds,
      // alternating which goes first, medians compared (the disk's write-back is noisy).
      const big: Record<1 | 2, number[]> = { 1: [], 2: [] };
      for (let round = 0; round < 3; round++) {
        for (const version of round % 2 === 0 ? ([2, 1] as const) : ([1, 2] as const)) {
          big[version].push(await curlUpload(server.url, key, file, `firmware-v${version}.bin`, version));
        }
      }
      lines.push(report(`upload v2 ${mib} MiB throughput`, mib / median(big[2]), "MiB/s", mib / median(big[1]), 0));
      const small = join(dir, "small.bin");
      await makeFile(small, 16);
      const times: Record<1 | 2, number[]> = { 1: [], 2: [] };
      for (let i = 0; i < 15; i++) {
        // Alternating which goes first, as above: the second of a pair meets the first's write-back.
        for (const version of i % 2 === 0 ? ([2, 1] as const) : ([1, 2] as const)) {
          times[version].push(await curlUpload(server.url, key, small, `small-${i}-v${version}.bin`, version));
        }
      }
      lines.push(
        report("upload v2 16 MiB p50 (v1 as baseline)", median(times[2]) * 1000, "ms", median(times[1]) * 1000, 1),
      );
    } finally {
      await server.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return lines;
}

if (isMain(import.meta.url)) await uploadBench(Number(process.argv[2] ?? 1024));
