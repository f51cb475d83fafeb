/**
 * A page loaded in headless Chromium (the system's, `apt-get install chromium`), driven over
 * the DevTools protocol on a pipe (--remote-debugging-pipe: no port, no WebSocket client).
 * Records every request the page makes, and every console error, CSP violation and uncaught
 * exception, then waits until an expression evaluated in the page is truthy. Other hosts
 * cannot be reached from it (--host-resolver-rules), so a request for one is recorded and
 * fails instead of leaving the machine. Stopped by process group.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

const BINARY = process.env.CHROMIUM ?? "chromium";

/** True when Chromium starts here; under CI its absence is an error (.ci/run installs it). */
export function chromiumAvailable(): boolean {
  const ok = spawnSync(BINARY, ["--version"], { stdio: "pipe", timeout: 30_000 }).status === 0;
  if (!ok && process.env.CI) throw new Error(`${BINARY} cannot start here, but CI must run the browser tests`);
  if (!ok) console.warn(`\n*** SKIPPING browser tests: ${BINARY} not found (apt-get install chromium) ***\n`);
  return ok;
}

export interface PageVisit {
  /** Every URL the page requested, in order (data: URLs included). */
  requests: string[];
  /** Console errors, CSP violations and uncaught exceptions, as text. */
  problems: string[];
  /** The last value of the awaited expression. */
  value: unknown;
}

type Message = {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  sessionId?: string;
  result?: unknown;
  error?: unknown;
};

/** The DevTools protocol over the pipe: NUL-terminated JSON messages, on fds 3 (to) and 4 (from). */
function devtools(child: ChildProcess) {
  const input = child.stdio[3] as Writable;
  const output = child.stdio[4] as Readable;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const listeners: Array<(m: Message) => void> = [];
  let buffered = "";
  let next = 1;
  output.setEncoding("utf8");
  output.on("data", (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf("\0"); end >= 0; end = buffered.indexOf("\0")) {
      const message = JSON.parse(buffered.slice(0, end)) as Message;
      buffered = buffered.slice(end + 1);
      const waiting = message.id === undefined ? undefined : pending.get(message.id);
      if (waiting) {
        pending.delete(message.id as number);
        if (message.error) waiting.reject(new Error(`DevTools: ${JSON.stringify(message.error)}`));
        else waiting.resolve(message.result);
      } else for (const listen of listeners) listen(message);
    }
  });
  return {
    send<T>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> {
      const id = next++;
      input.write(`${JSON.stringify({ id, method, params, sessionId })}\0`);
      return new Promise<T>((resolve, reject) => pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
    },
    on(listen: (m: Message) => void) {
      listeners.push(listen);
    },
  };
}

/**
 * Opens `url`, then evaluates `until` in the page every 200 ms until it is truthy (or
 * `timeoutMs` passes: the visit is returned as it stands, for the caller's assertions).
 */
export async function visit(url: string, until: string, timeoutMs = 30_000): Promise<PageVisit> {
  const profile = await mkdtemp(join(tmpdir(), "iot-chromium-"));
  const allowed = new URL(url).hostname;
  const child = spawn(
    BINARY,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--remote-debugging-pipe",
      `--user-data-dir=${profile}`,
      // Any other host resolves to nothing: a request for one shows in `requests`, and goes nowhere.
      `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${allowed}`,
      "about:blank",
    ],
    {
      stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"],
      detached: true,
      // Chromium keeps files of its own in TMPDIR: inside the profile, removed with it.
      env: { ...process.env, TMPDIR: profile },
    },
  );
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<void>((done) => child.on("exit", () => done()));
  try {
    const cdp = devtools(child);
    const { targetId } = await cdp.send<{ targetId: string }>("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await cdp.send<{ sessionId: string }>("Target.attachToTarget", { targetId, flatten: true });
    const result: PageVisit = { requests: [], problems: [], value: undefined };
    cdp.on((m) => {
      if (m.sessionId !== sessionId || !m.params) return;
      // biome-ignore lint/suspicious/noExplicitAny: DevTools events, read defensively (optional chaining throughout).
      const p = m.params as Record<string, any>;
      if (m.method === "Network.requestWillBeSent") result.requests.push(String(p.request?.url));
      else if (m.method === "Log.entryAdded" && p.entry?.level === "error")
        result.problems.push(`${p.entry.source}: ${p.entry.text} ${p.entry.url ?? ""}`.trim());
      else if (m.method === "Runtime.consoleAPICalled" && p.type === "error")
        result.problems.push(
          `console.error: ${JSON.stringify(p.args?.map((a: { value?: unknown; description?: string }) => a.value ?? a.description))}`,
        );
      else if (m.method === "Runtime.exceptionThrown")
        result.problems.push(`exception: ${p.exceptionDetails?.exception?.description ?? p.exceptionDetails?.text}`);
    });
    for (const domain of ["Network", "Page", "Runtime", "Log"]) await cdp.send(`${domain}.enable`, {}, sessionId);
    await cdp.send("Page.navigate", { url }, sessionId);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const evaluated = await cdp.send<{ result: { value?: unknown } }>(
        "Runtime.evaluate",
        { expression: until, returnByValue: true },
        sessionId,
      );
      result.value = evaluated.result.value;
      if (result.value) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    return result;
  } catch (error) {
    throw new Error(`Chromium: ${error instanceof Error ? error.message : String(error)}\n${stderr}`);
  } finally {
    if (child.pid && child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // The group is already gone.
      }
      const timer = setTimeout(() => child.pid && process.kill(-child.pid, "SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(profile, { recursive: true, force: true });
  }
}
