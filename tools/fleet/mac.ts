/**
 * A locally administered (02-…) MAC per device, numbered from 0: the same devices
 * every run, so a run against a long-lived server overwrites its own configs only.
 */
export function macOf(index: number): string {
  const n = index + 1;
  const bytes = [0x02, 0xf1, 0xee, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join("-");
}
