/**
 * How the fleet is split over processes. Each simulated device holds one MQTT connection,
 * so one process with a limit of L open files (20,000 on the machine this was built on;
 * `ulimit -n`) holds at most L minus what its HTTP pools and runtime need. Past that the
 * devices go to shards: child processes, each with its own limit and event loop.
 */
import { FleetError } from "./errors.js";

/** Descriptors a process keeps for everything but its devices' MQTT connections. */
export function reservedFds(fetchConcurrency: number, saveConcurrency: number): number {
  // Two device pools (keep-alive and one-shot), the admin's pool, and the runtime's own files, pipes and IPC.
  return 2 * fetchConcurrency + saveConcurrency + 200;
}

/** The number of processes needed for `devices`, given each one's open-file limit (undefined: not known). */
export function shardsNeeded(devices: number, limit: number | undefined, reserved: number): number {
  if (limit === undefined) return 1;
  const perProcess = limit - reserved;
  if (perProcess < 1) {
    throw new FleetError("SETUP", `the open-file limit (${limit}) leaves no room for devices (${reserved} reserved)`);
  }
  return Math.ceil(devices / perProcess);
}

/** Splits `devices` into `shards` contiguous ranges of sizes differing by at most one. */
export function splitDevices(devices: number, shards: number): Array<{ first: number; count: number }> {
  const ranges: Array<{ first: number; count: number }> = [];
  let first = 0;
  for (let shard = 0; shard < shards; shard++) {
    const count = Math.floor(devices / shards) + (shard < devices % shards ? 1 : 0);
    ranges.push({ first, count });
    first += count;
  }
  return ranges;
}
