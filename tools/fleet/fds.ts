/**
 * The server's open file descriptors, from /proc/<pid>/fd (Linux). Sockets the
 * simulator closed are released by the server only once it has read the FIN, so the
 * "after" count is polled until it is back to the baseline or a short deadline has
 * passed: a descriptor still open then is one the server kept (a leak), not one in
 * the middle of closing.
 */
import { readdir, readFile, readlink } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

const POLL_MS = 50;

/** Open descriptors of `pid`, or undefined where /proc cannot tell (not Linux, process gone, not ours). */
export async function countFds(pid: number): Promise<number | undefined> {
  try {
    return (await readdir(`/proc/${pid}/fd`)).length;
  } catch {
    // No /proc, or the process has exited: the report says "n/a" rather than a wrong number.
    return undefined;
  }
}

/** The count once it has held still for a few polls (the baseline: nothing of ours is closing). */
export async function steadyFds(pid: number, timeoutMs = 2000): Promise<number | undefined> {
  const deadline = performance.now() + timeoutMs;
  let last = await countFds(pid);
  let same = 0;
  while (last !== undefined && same < 3 && performance.now() < deadline) {
    await sleep(POLL_MS);
    const now = await countFds(pid);
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

/** The count once it is at most `baseline`, or whatever it is when `timeoutMs` has passed. */
export async function settledFds(pid: number, baseline: number, timeoutMs = 5000): Promise<number | undefined> {
  const deadline = performance.now() + timeoutMs;
  let last = await countFds(pid);
  while (last !== undefined && last > baseline && performance.now() < deadline) {
    await sleep(POLL_MS);
    last = await countFds(pid);
  }
  return last;
}

/**
 * What the descriptors are, counted by kind: "socket", "pipe", "anon_inode:[eventpoll]",
 * or the file's path. Compared before and after, it names what the server kept open.
 */
export async function describeFds(pid: number): Promise<Record<string, number> | undefined> {
  let entries: string[];
  try {
    entries = await readdir(`/proc/${pid}/fd`);
  } catch {
    // Gone or not Linux: nothing to describe.
    return undefined;
  }
  const kinds: Record<string, number> = {};
  for (const entry of entries) {
    const target = await readlink(`/proc/${pid}/fd/${entry}`).catch(() => "closed meanwhile");
    const kind = target.replace(/^(socket|pipe):\[\d+\]$/, "$1");
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

/** The kinds that grew from `before` to `after`, with by how much. */
export function grownKinds(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([kind, n]) => [kind, n - (before[kind] ?? 0)] as const)
      .filter(([, grown]) => grown > 0),
  );
}

/**
 * The soft limit on open files ("Max open files" in /proc/<pid>/limits) of `pid` (default:
 * this process), which its children inherit; undefined where /proc cannot tell, or unlimited.
 */
export async function openFileLimit(pid: number | "self" = "self"): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/limits`, "utf8");
  } catch {
    // Not Linux, or the process is gone: the caller then assumes nothing about the limit.
    return undefined;
  }
  const soft = /^Max open files\s+(\d+)/m.exec(text)?.[1];
  return soft === undefined ? undefined : Number(soft);
}
