/**
 * nginx as a reference line: one worker, sendfile on, serving copies of the given files
 * from a temporary root, with its own temporary nginx.conf, pid, log and temp paths and a
 * free port; started in the foreground and stopped by its PID. Not a goal: it shows what
 * a C server does with the same bytes on this machine.
 */
import { execFileSync } from "node:child_process";

import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freePort } from "../../test/support/mosquitto.js";
import { spawnOwned } from "./owned-child.js";

const NGINX = process.env.NGINX ?? "/usr/sbin/nginx";

/** nginx's `-V` (the modules it was built with), or undefined when it is not installed. */
function nginxBuild(): string | undefined {
  try {
    return execFileSync(NGINX, ["-V"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    // nginx -V prints to stderr; a spawn failure (ENOENT) means it is not there.
    const e = error as { code?: string; stderr?: string };
    return e.code === "ENOENT" ? undefined : e.stderr;
  }
}

export const nginxAvailable = () => nginxBuild() !== undefined;

export interface Nginx {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** `files` maps a URL path (e.g. "/files/configs/x.json") to the file to copy there. */
export async function startNginx(files: Record<string, string>): Promise<Nginx> {
  const build = nginxBuild();
  if (build === undefined) throw new Error(`nginx not found at ${NGINX} (apt-get install nginx-light)`);
  const dir = await mkdtemp(join(tmpdir(), "iot-bench-nginx-"));
  try {
    return await launch(build, dir, files);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(build: string, dir: string, files: Record<string, string>): Promise<Nginx> {
  const root = join(dir, "root");
  // Started as root, nginx's worker runs as nobody: the copies must be readable by anyone.
  await chmod(dir, 0o755);
  for (const [path, source] of Object.entries(files)) {
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await copyFile(source, target);
    await chmod(target, 0o644);
  }
  await chmod(root, 0o755);
  const port = await freePort();
  // Each module compiled in wants its temp path; point every one at the temporary folder.
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .filter((m) => m === "client_body" || !build.includes(`--without-http_${m}_module`))
    .map((m) => `  ${m}_temp_path ${join(dir, `${m}_temp`)};`)
    .join("\n");
  const conf = `daemon off;
worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} warn;
events { worker_connections 1024; }
http {
  access_log off;
${temps}
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { application/json json; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`;
  await writeFile(join(dir, "nginx.conf"), conf);
  // SIGTERM is nginx's fast shutdown (worker included).
  const { child, output, exited } = spawnOwned(
    NGINX,
    ["-p", dir, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf")],
    {},
    { signal: "SIGTERM", removeDir: dir },
  );
  const url = `http://127.0.0.1:${port}`;
  const probe = `${url}${Object.keys(files)[0] ?? "/"}`;
  const started = performance.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited at start:\n${output()}`);
    try {
      const res = await fetch(probe);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // Not listening yet: poll again.
    }
    if (performance.now() - started > 10_000) {
      child.kill("SIGTERM");
      throw new Error(`nginx not serving ${probe} within 10 s:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    url,
    pid: child.pid as number,
    async stop() {
      // SIGQUIT: the master lets its worker finish, then both exit; only this PID is signalled.
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid as number, "SIGQUIT");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
