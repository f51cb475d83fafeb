/**
 * A fleet of simulated ESP32s (tools/fleet) against a private Mosquitto and server: one
 * save per device, then one firmware upload; each device reports the config it applied
 * over HTTP, and the run waits for the fleet view to show every device current. Run twice in the same process, devices on the
 * shared topic (the baseline, as devices subscribe today) and on their own topics; each
 * line reports the per-device-topic figure against the shared one. Convergence times are
 * bounded by the simulator (a thousand MQTT clients in one Node process) as much as by the
 * server: compare the two modes, not the absolute times.
 */
import { type FleetReport, runFleet } from "../tools/fleet/fleet.js";
import { isMain, report } from "./support/stats.js";

export async function fleetBench(
  devices = Math.min(1000, Number(process.env.BENCH_FLEET_DEVICES ?? 1000)),
): Promise<string[]> {
  const run = async (perDeviceTopics: boolean): Promise<FleetReport> => {
    const result = await runFleet({ devices, perDeviceTopics, firmwareBytes: 1024 * 1024 });
    if (!result.ok)
      console.log(`fleet run (per-device topics ${perDeviceTopics}) problems: ${result.problems.join("; ")}`);
    return result;
  };
  const shared = await run(false);
  const own = await run(true);
  const label = `fleet ${devices} devices`;
  const fds = (r: FleetReport) =>
    r.serverFds.before === null || r.serverFds.after === null ? Number.NaN : r.serverFds.after - r.serverFds.before;
  return [
    // Against the fleet's size: 1.00× is every device.
    report(`${label}, converged (per-device topics)`, own.converged.all, "devices", devices, 0),
    report(`${label}, converged (shared topic)`, shared.converged.all, "devices", devices, 0),
    report(
      `${label}, config messages per device (per-device topics)`,
      own.configMessagesPerDevice?.max ?? Number.NaN,
      "msgs",
      shared.configMessagesPerDevice?.max,
      0,
    ),
    report(`${label}, HTTP errors (both runs)`, own.httpErrors.count + shared.httpErrors.count, "errors", undefined, 0),
    report(`${label}, server descriptors after minus before (both runs)`, fds(own) + fds(shared), "fds", undefined, 0),
    report(
      `${label}, config convergence p50 (per-device topics)`,
      own.configConvergenceMs?.p50 ?? Number.NaN,
      "ms",
      shared.configConvergenceMs?.p50,
      0,
    ),
    report(
      `${label}, config convergence p99 (per-device topics)`,
      own.configConvergenceMs?.p99 ?? Number.NaN,
      "ms",
      shared.configConvergenceMs?.p99,
      0,
    ),
    report(
      `${label}, all current in the fleet view after the last save (per-device topics)`,
      own.fleetView.allCurrentAfterMs ?? Number.NaN,
      "ms",
      shared.fleetView.allCurrentAfterMs ?? undefined,
      0,
    ),
    report(
      `${label}, storage writes for read records per device per 10 s (both runs, max)`,
      Math.max(own.recordWrites?.perDevicePer10s ?? Number.NaN, shared.recordWrites?.perDevicePer10s ?? Number.NaN),
      "writes",
      undefined,
      3,
    ),
    report(
      `${label}, firmware convergence p50 (per-device topics)`,
      own.firmwareConvergenceMs?.p50 ?? Number.NaN,
      "ms",
      shared.firmwareConvergenceMs?.p50,
      0,
    ),
  ];
}

if (isMain(import.meta.url)) await fleetBench(process.argv[2] === undefined ? undefined : Number(process.argv[2]));
