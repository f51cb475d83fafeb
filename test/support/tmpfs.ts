/**
 * A small real volume for "disk full" tests: a tmpfs of a few megabytes mounted on a
 * fresh temporary folder (needs root, as CI has). Where it cannot be mounted, the test
 * says so loudly and skips; under CI (CI=true) that is an error, never a skip.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SmallVolume {
  dir: string;
  cleanup(): Promise<void>;
}

export async function mountSmallVolume(sizeKiB: number): Promise<SmallVolume> {
  const dir = await mkdtemp(join(tmpdir(), "iot-full-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeKiB}k`, "tmpfs", dir], { stdio: "pipe" });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    async cleanup() {
      execFileSync("umount", [dir], { stdio: "pipe" });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** True when a tmpfs can be mounted here; prints why not, and throws under CI. */
export async function smallVolumesAvailable(): Promise<boolean> {
  try {
    const volume = await mountSmallVolume(64);
    await volume.cleanup();
    return true;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    if (process.env.CI) throw new Error(`cannot mount a tmpfs (${reason}), but CI must run the disk-full tests`);
    console.warn(`\n*** SKIPPING disk-full tests: cannot mount a tmpfs here (${reason}); run as root ***\n`);
    return false;
  }
}
