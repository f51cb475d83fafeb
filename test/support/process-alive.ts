/** Whether a process id is still running (signal 0 checks without sending anything). */
export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: no such process, which is what the callers hope for.
    return false;
  }
}
