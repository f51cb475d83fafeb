/**
 * CPU time (user + system, ms) used so far by each process of a process group, by command
 * name, from /proc (Linux): what a request costs a server whatever else shares the machine.
 */
import { readdir, readFile } from "node:fs/promises";

const TICK_MS = 10; // USER_HZ is 100 on Linux.

export async function groupCpuMs(group: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // Gone meanwhile.
    }
    // comm is in parentheses and may contain spaces; the fields after it are space-separated.
    const close = stat.lastIndexOf(")");
    const name = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    if (Number(fields[2]) !== group) continue; // pgrp
    const ms = (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime
    out[name] = (out[name] ?? 0) + ms;
  }
  return out;
}
