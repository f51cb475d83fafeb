/**
 * Peak memory of the server while it receives one large upload, against the file's
 * size. Usage: `npx tsx bench/upload-memory.ts [MiB]` (default 500).
 * The server runs as a plain `node --import tsx` process so /proc/<pid> is the server itself.
 */
import { execFile, spawn } from "node:child_process";
import { createSign } from "node:crypto";
import { mkdtemp, open, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "..");
const mib = Number(process.argv[2] ?? 500);

const peakRssMiB = async (pid: number) => {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
};

async function main() {
  const dir = await mkdtemp(join(tmpdir(), "iot-bench-upload-"));
  try {
    const file = join(dir, "firmware.bin");
    const handle = await open(file, "w");
    const chunk = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < mib; i++) {
      chunk.fill(i % 251);
      await handle.write(chunk);
    }
    await handle.close();

    const server = spawn(process.execPath, ["--import", "tsx", "src/runtimes/node.ts"], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: join(dir, "data"), PORT: "0", MAX_UPLOAD_BYTES: String(4 * 1024 ** 3) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
    });
    const url = await new Promise<string>((res) => {
      const timer = setInterval(() => {
        const m = /"msg":"listening","url":"([^"]+)"/.exec(out);
        if (m?.[1]) {
          clearInterval(timer);
          res(m[1]);
        }
      }, 20);
    });
    const idle = await peakRssMiB(server.pid as number);
    const key = await readFile(join(dir, "data", "dev-signing-key.pem"), "utf8");
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
      `${url}/api/assets`,
    ]);
    const seconds = (performance.now() - started) / 1000;
    const peak = await peakRssMiB(server.pid as number);
    server.kill("SIGTERM");
    const stored = await stat(join(dir, "data", "assets", "firmware.bin"));
    if (stored.size !== mib * 1024 * 1024) throw new Error(`stored ${stored.size} bytes: ${stdout}`);
    console.log(
      `upload ${mib} MiB: peak RSS ${peak.toFixed(0)} MiB (idle peak ${idle.toFixed(0)} MiB, ${(peak / mib).toFixed(3)}× the file size), ${(mib / seconds).toFixed(0)} MiB/s`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
