/**
 * The driver's handle on a shard (shard-main.ts): a child process started with the same
 * Node and the tsx loader, spoken to over IPC, looking to the scenario like any other
 * DeviceGroup. A shard that dies fails every call in flight with its exit and the end of
 * its stderr. It is killed by PID when the run cleans up, and also if the driver exits
 * first (its `exit` hook), so no shard outlives a run.
 */
import { type ChildProcess, fork } from "node:child_process";
import { join, resolve } from "node:path";
import type { DeviceGroup, GroupResult, GroupSettings } from "./group.js";
import type { ShardReply, ShardRequest } from "./shard-protocol.js";

const ROOT = resolve(import.meta.dirname, "../..");
const MAIN = join(import.meta.dirname, "shard-main.ts");
/** Kept of a shard's stderr for the message when it dies. */
const STDERR_TAIL = 2000;

type Pending = { resolve(value: unknown): void; reject(error: Error): void };
type Request = ShardRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

export interface Shard extends DeviceGroup {
  readonly pid: number | undefined;
}

/** `onSpawned` hears the PID before anything can fail, so the caller can always account for the process. */
export async function startShard(
  index: number,
  settings: GroupSettings,
  onSpawned: (pid: number | undefined) => void,
): Promise<Shard> {
  const child: ChildProcess = fork(MAIN, [], {
    cwd: ROOT,
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "ignore", "pipe", "ipc"],
    // Structured clone rather than JSON: the records of thousands of devices come back in one message.
    serialization: "advanced",
  });
  const pid = child.pid;
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_TAIL);
  });
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let gone: Error | undefined;
  const exited = new Promise<void>((done) => {
    const onGone = (why: string) => {
      gone ??= new Error(`shard ${index} (pid ${pid}) ${why}${stderr ? `: ${stderr.trim()}` : ""}`);
      for (const call of pending.values()) call.reject(gone);
      pending.clear();
      done();
    };
    child.on("exit", (code, signal) => onGone(`exited (${signal ?? `code ${code}`})`));
    child.on("error", (error) => onGone(`could not run (${error.message})`));
  });
  const killNow = () => {
    if (child.exitCode === null && child.signalCode === null && pid !== undefined) process.kill(pid, "SIGKILL");
  };
  process.once("exit", killNow);
  void exited.then(() => process.off("exit", killNow));

  child.on("message", (message: ShardReply) => {
    const call = pending.get(message.id);
    if (!call) return;
    pending.delete(message.id);
    if (message.ok) call.resolve(message.value);
    else call.reject(new Error(`shard ${index}: ${message.error}`));
  });

  const ask = <T>(request: Request): Promise<T> =>
    new Promise<T>((resolvePromise, reject) => {
      if (gone) return reject(gone);
      const id = nextId++;
      pending.set(id, { resolve: resolvePromise as (value: unknown) => void, reject });
      child.send({ ...request, id } as ShardRequest);
    });

  onSpawned(pid);
  try {
    await ask({ op: "start", settings });
  } catch (error) {
    killNow();
    await exited;
    throw error;
  }
  return {
    pid,
    settings,
    connect: () => ask({ op: "connect" }),
    planned: (saves, upload) => ask({ op: "planned", saves, upload }),
    settled: () => ask({ op: "settled" }),
    finish: () => ask<GroupResult>({ op: "finish" }),
    async close() {
      // By PID, at once: after finish() it has nothing left to do; after a failure, nothing worth waiting for.
      killNow();
      await exited;
    },
  };
}
