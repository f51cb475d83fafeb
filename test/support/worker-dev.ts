/**
 * Runs the Worker under workerd the way `npm run dev:worker` does (`wrangler dev
 * --local`, with wrangler.toml), on a free loopback port, with its own local R2 state
 * and its settings in a private env file (so a developer's .dev.vars is never read).
 * Collects the output, where the Worker's log lines appear. Stopped by process group.
 * Options: the state in a directory of the caller's (kept at cleanup, so a second
 * `wrangler dev` finds the first one's R2 objects and Durable Object storage), and
 * wrangler.toml without the notification hub's binding (the per-request mode), without the
 * rollout driver's, or without the static assets binding (the API docs' Swagger UI files); or
 * another config (wrangler.hub.toml: the hub as a Worker of its own) and the hub's binding
 * pointing at such a Worker in another `wrangler dev` session (worker-hub-pair.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "./mosquitto.js";

export const ROOT = resolve(import.meta.dirname, "../..");
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
const READY_TIMEOUT_MS = 60_000;

export interface WorkerDev {
  url: string;
  /** workerd's V8 inspector (the Worker's isolate, its Durable Objects included): for profiles. */
  inspectorPort: number;
  /** The process group of wrangler and its workerd (for the benches' CPU accounting). */
  processGroup: number;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  output(): string;
  /** The Worker's own JSON log lines. */
  lines(): Array<Record<string, unknown>>;
  cleanup(): Promise<void>;
}

/** dotenv syntax: double quotes keep newlines (PEM keys); quotes and backslashes are escaped. */
const dotenv = (vars: Record<string, string>) =>
  Object.entries(vars)
    .map(([name, value]) => `${name}="${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`)
    .join("\n");

/** Ports come from freePort(), which another test process may take before wrangler binds them: retry then. */
const PORT_ATTEMPTS = 3;

export interface WorkerDevOptions {
  /** Where wrangler keeps the local R2 bucket and Durable Object storage; kept at cleanup. Default: a temporary one. */
  persistTo?: string;
  /** false: wrangler.toml without the NOTIFY_HUB binding, so notifications run per request. Default: true. */
  hub?: boolean;
  /** false: wrangler.toml without [assets], the ASSETS binding of the API docs' files. Default: true. */
  assets?: boolean;
  /** false: wrangler.toml without the ROLLOUTS binding (the rollout driver) and its migration. Default: true. */
  rollouts?: boolean;
  /** The config to run, relative to the repository. Default: wrangler.toml. */
  config?: string;
  /** The NOTIFY_HUB binding gets `script_name` = this: the hub runs in that Worker, in another session. */
  hubScript?: string;
  /**
   * wrangler's dev registry (WRANGLER_REGISTRY_PATH), where sessions find each other's Workers by
   * name: a private one per pair, since every session on the machine registers its Workers by the
   * same names. Default: the user's.
   */
  registry?: string;
}

export async function startWorkerDev(vars: Record<string, string>, options: WorkerDevOptions = {}): Promise<WorkerDev> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(vars, options);
    } catch (error) {
      if (attempt >= PORT_ATTEMPTS || !String(error).includes("Address already in use")) throw error;
    }
  }
}

/**
 * A config (wrangler.toml unless said) less the hub's binding and migration, the rollout driver's
 * binding and migration, and/or the [assets] section, with the hub's binding naming `hubScript`,
 * in `dir`. A section goes with its header and body.
 * Paths in a config are relative to its own folder, so `main`, the aliases and the assets
 * directory are made absolute.
 */
async function configWithout(
  dir: string,
  source: string,
  drop: { hub: boolean; rollouts: boolean; assets: boolean },
  hubScript: string | undefined,
): Promise<string> {
  const objects = (section: string, names: RegExp) =>
    /^\[\[(durable_objects\.bindings|migrations)\]\]/.test(section) && names.test(section);
  const dropped = (section: string) =>
    (drop.hub && objects(section, /"NOTIFY_HUB"|"NotificationHub"/)) ||
    (drop.rollouts && objects(section, /"ROLLOUTS"|"RolloutDriver"/)) ||
    (drop.assets && /^\[assets\]/.test(section));
  const sections: string[][] = [[]];
  for (const line of (await readFile(join(ROOT, source), "utf8")).split("\n")) {
    if (line.startsWith("[")) sections.push([]);
    sections.at(-1)?.push(line);
  }
  const text = sections
    .filter((lines) => !dropped(lines.join("\n")))
    .flat()
    .join("\n")
    .replace(/^main = "(.+)"$/m, (_, path: string) => `main = "${join(ROOT, path)}"`)
    .replace(/^directory = "(.+)"$/m, (_, path: string) => `directory = "${join(ROOT, path)}"`)
    .replace(/^("[^"]+") = "\.\/(.+)"$/gm, (_, name: string, path: string) => `${name} = "${join(ROOT, path)}"`)
    .replace(/^name = "NOTIFY_HUB"$/m, (line) => (hubScript ? `${line}\nscript_name = "${hubScript}"` : line));
  if (hubScript && !text.includes(`script_name = "${hubScript}"`)) throw new Error("the config has no hub binding");
  if (drop.hub && /"NOTIFY_HUB"|"NotificationHub"/.test(text))
    throw new Error("the hub's binding is still in the config");
  if (drop.rollouts && /"ROLLOUTS"|"RolloutDriver"/.test(text))
    throw new Error("the driver's binding is still in the config");
  if (drop.assets && /^\[assets\]|^binding = "ASSETS"/m.test(text)) throw new Error("[assets] is still in the config");
  const path = join(dir, "wrangler.toml");
  await writeFile(path, text);
  return path;
}

/** A failure before wrangler runs leaves no temporary directory behind. */
const leave = (dir: string) => async (error: unknown) => {
  await rm(dir, { recursive: true, force: true });
  throw error;
};

async function startOnce(vars: Record<string, string>, options: WorkerDevOptions): Promise<WorkerDev> {
  const dir = await mkdtemp(join(tmpdir(), "iot-worker-"));
  const envFile = join(dir, "worker.env");
  // As .dev.vars.example does for local development: anonymous admin unless a test says otherwise.
  await writeFile(envFile, `${dotenv({ ALLOW_ANONYMOUS_ADMIN: "true", ...vars })}\n`);
  const drop = { hub: options.hub === false, rollouts: options.rollouts === false, assets: options.assets === false };
  const source = options.config ?? "wrangler.toml";
  const rewritten = drop.hub || drop.rollouts || drop.assets || options.hubScript || source !== "wrangler.toml";
  const config = rewritten
    ? ["--config", await configWithout(dir, source, drop, options.hubScript).catch(leave(dir))]
    : [];
  const port = await freePort();
  const inspectorPort = await freePort();
  const child: ChildProcess = spawn(
    WRANGLER,
    [
      "dev",
      "--local",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--env-file",
      envFile,
      "--persist-to",
      options.persistTo ?? join(dir, "state"),
      "--show-interactive-dev-session=false",
      ...config,
    ],
    {
      cwd: ROOT,
      // Own process group: wrangler starts workerd as a child, and both must go at cleanup.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        // Loopback only: no telemetry, no update check, no download of the Request.cf object.
        WRANGLER_SEND_METRICS: "false",
        WRANGLER_HIDE_BANNER: "true",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        ...(process.env.CI ? { CI: process.env.CI } : {}),
        ...(options.registry ? { WRANGLER_REGISTRY_PATH: options.registry } : {}),
      },
    },
  );
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<void>((done) => child.on("exit", () => done()));
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // The group is already gone.
      }
      const timer = setTimeout(() => {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      }, 5000);
      await exited;
      clearTimeout(timer);
      // wrangler gone, a workerd of its group that did not take SIGTERM would run on, orphaned (seen after
      // a profiled run, spinning at 40% of a core): whatever is left of the group goes too.
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // ESRCH: nothing of the group is left, as it should be.
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await new Promise<void>((ready, fail) => {
      const deadline = Date.now() + READY_TIMEOUT_MS;
      const timer = setInterval(() => {
        if (out.includes(`Ready on ${url}`)) {
          clearInterval(timer);
          ready();
        } else if (Date.now() > deadline) {
          clearInterval(timer);
          fail(new Error(`wrangler dev was not ready within ${READY_TIMEOUT_MS} ms:\n${out}`));
        }
      }, 50);
      void exited.then(() => {
        clearInterval(timer);
        fail(new Error(`wrangler dev exited before it was ready:\n${out}`));
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url,
    inspectorPort,
    processGroup: child.pid as number,
    fetch: (path, init) => fetch(`${url}${path}`, init),
    output: () => out,
    lines: () =>
      out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    cleanup: stop,
  };
}
