/**
 * The fleet simulator (tools/fleet, `npm run fleet`) at fleet size, as steps of the
 * benchmark run: N simulated devices (BENCH_FLEET_DEVICES, default 10,000) on their own
 * topics, in 2 shards, against a private Mosquitto and server. Three runs:
 *
 * 1. devices report over HTTP, then one rollout over every device (waves 1, 10, 50, 100 %,
 *    no device failing): convergence, the fleet view, and the rollout's time per wave; the
 *    server's and the broker's memory and the server's storage are read when the server
 *    starts and again when the fleet view first shows every device current (before the
 *    rollout), for the capacity table;
 * 2. devices report over MQTT (the server reads iotsupport/status/+);
 * 3. the same rollout with 30 % of the devices failing: it must halt in wave 1.
 *
 * Each run's full report is printed as `npm run fleet` prints it; the lines returned are
 * the figures BENCHMARKS.md holds (fleet-sim-lines.ts).
 */
import { join } from "node:path";
import { runFleet } from "../tools/fleet/fleet.js";
import { formatReport } from "../tools/fleet/format.js";
import type { FleetOptions } from "../tools/fleet/options.js";
import { ROLLOUT_DEFAULTS } from "../tools/fleet/rollout-plan.js";
import { type FleetSimRuns, fleetSimLines, type Usage } from "./fleet-sim-lines.js";
import { diskBytes, rssBytes } from "./support/resources.js";
import { FLEET_DEVICES } from "./support/settings.js";
import { isMain } from "./support/stats.js";

export const WAVES = [1, 10, 50, 100];
export const FAIL_SHARE = 0.3;
const TIMEOUT_S = 900;

/** The command line that runs the same simulation by hand; `extra` are the run's own flags. */
export const fleetSimCommand = (devices: number, extra: string) =>
  `npm run fleet -- --devices ${devices} --per-device-topics --shards 2 --timeout ${TIMEOUT_S} ${extra}`.trim();

export const FLEET_SIM_RUNS = {
  http: `--rollout --waves ${WAVES.join(",")}`,
  mqtt: "--report mqtt",
  failing: `--rollout --waves ${WAVES.join(",")} --fail-share ${FAIL_SHARE}`,
} as const;

async function simulate(devices: number, options: Partial<FleetOptions>, measure: boolean) {
  const pids: { server?: number; broker?: number } = {};
  let dataDir: string | undefined;
  const snapshots: Array<Promise<Usage["before"]>> = [];
  const snapshot = async (): Promise<Usage["before"]> => ({
    serverRss: pids.server === undefined ? undefined : await rssBytes(pids.server),
    brokerRss: pids.broker === undefined ? undefined : await rssBytes(pids.broker),
    // Configs and the server's records; the firmware image (assets/) is one file whatever the fleet.
    disk:
      dataDir === undefined
        ? undefined
        : (await diskBytes(join(dataDir, "configs"))) + (await diskBytes(join(dataDir, "state"))),
  });
  const report = await runFleet(
    { devices, perDeviceTopics: true, shards: Math.min(2, devices), timeoutSeconds: TIMEOUT_S, ...options },
    {
      log(line) {
        console.log(`  fleet: ${line}`);
        // "broker …, server …": both started, no device connected yet; then the fleet view's verdict.
        const moment = line.startsWith("broker ") || line.startsWith("the fleet view showed every device current");
        if (measure && moment) snapshots.push(snapshot());
      },
      started(resource) {
        if (resource.kind === "server") {
          pids.server = resource.pid;
          dataDir = resource.dir;
        } else if (resource.kind === "broker") pids.broker = resource.pid;
      },
    },
  );
  console.log(formatReport(report).replace(/^/gm, "  "));
  const [before, after] = await Promise.all(snapshots);
  return { report, usage: before && after ? { before, after } : undefined };
}

export async function fleetSimBench(devices = FLEET_DEVICES): Promise<string[]> {
  const rollout = { ...ROLLOUT_DEFAULTS, waves: WAVES };
  console.log(`fleet simulator at ${devices} devices`);
  const http = await simulate(devices, { rollout }, true);
  const mqtt = await simulate(devices, { report: "mqtt" }, false);
  const failing = await simulate(devices, { rollout: { ...rollout, failShare: FAIL_SHARE } }, false);
  const runs: FleetSimRuns = { http: http.report, mqtt: mqtt.report, failing: failing.report, usage: http.usage };
  return fleetSimLines(devices, runs);
}

if (isMain(import.meta.url)) await fleetSimBench(Number(process.argv[2] ?? FLEET_DEVICES));
