/**
 * Real nginx (the distribution's /usr/sbin/nginx) run as a child process with its own
 * prefix, configuration, logs and pid file in a temporary folder, on a free port;
 * stopped by its PID. Where nginx is not installed the caller's tests say so loudly and
 * skip, except under CI, where that is an error (.ci/run installs it).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { waitUntil } from "./wait.js";

export const NGINX = "/usr/sbin/nginx";

export function nginxAvailable(): boolean {
  if (existsSync(NGINX)) return true;
  if (process.env.CI) throw new Error(`${NGINX} is missing, but CI must run the nginx tests`);
  console.warn(`\n*** SKIPPING nginx tests: ${NGINX} is not installed (apt-get install nginx) ***\n`);
  return false;
}

/** A port free at the time of asking (nginx cannot be told to pick one and report it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return address.port;
}

export interface RunningNginx {
  child: ChildProcess;
  output(): string;
  errorLog: string;
  stop(): Promise<void>;
}

/**
 * Starts nginx in the foreground with `httpBlock` inside its `http { }`. As root, workers
 * run as www-data, as Debian's own nginx.conf has them, so file permissions are those of a
 * real installation.
 */
export async function startNginx(dir: string, httpBlock: string, port: number): Promise<RunningNginx> {
  const prefix = join(dir, "nginx");
  await mkdir(prefix, { recursive: true });
  const errorLog = join(prefix, "error.log");
  const user = process.getuid?.() === 0 ? "user www-data www-data;" : "";
  const conf = `${user}
daemon off;
pid ${join(prefix, "nginx.pid")};
error_log ${errorLog} info;
events { worker_connections 64; }
http {
  access_log ${join(prefix, "access.log")};
${httpBlock}
}
`;
  const confPath = join(prefix, "nginx.conf");
  await writeFile(confPath, conf);
  let out = "";
  const child = spawn(NGINX, ["-p", prefix, "-c", confPath, "-e", errorLog], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGQUIT");
    await exited;
  };
  try {
    await waitUntil("nginx to listen", async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${out}`);
      return fetch(`http://127.0.0.1:${port}/`).then(
        () => true,
        () => false,
      );
    });
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    throw error;
  }
  return { child, output: () => out, errorLog, stop };
}
