/**
 * A CPU profile of another process over the V8 inspector protocol, for runtimes with no
 * --cpu-prof flag (Deno): the process is started with --inspect=127.0.0.1:<port>, and this
 * starts and stops the sampling profiler around the load, then writes the .cpuprofile that
 * cpu-profile.ts summarises. `ws` is mqtt.js's own WebSocket client (Node 20 has none built in).
 */
import { writeFile } from "node:fs/promises";
import WebSocket from "ws";

interface Session {
  send(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): void;
}

async function connect(inspectorPort: number): Promise<Session> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as Array<{
    webSocketDebuggerUrl: string;
  }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${inspectorPort}`);
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  let next = 1;
  const waiting = new Map<number, { resolve(v: Record<string, unknown>): void; reject(e: Error): void }>();
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown>; error?: unknown };
    const waiter = message.id === undefined ? undefined : waiting.get(message.id);
    if (!waiter) return;
    waiting.delete(message.id as number);
    if (message.error) waiter.reject(new Error(`inspector: ${JSON.stringify(message.error)}`));
    else waiter.resolve(message.result ?? {});
  });
  return {
    send(method, params = {}) {
      const id = next++;
      socket.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
    },
    close: () => socket.close(),
  };
}

/** Profiles the process listening for the inspector on `inspectorPort` while `during` runs; writes `file`. */
export async function profileOver<T>(inspectorPort: number, file: string, during: () => Promise<T>): Promise<T> {
  const session = await connect(inspectorPort);
  try {
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: 200 });
    await session.send("Profiler.start");
    const result = await during();
    const { profile } = await session.send("Profiler.stop");
    await writeFile(file, JSON.stringify(profile));
    return result;
  } finally {
    session.close();
  }
}
