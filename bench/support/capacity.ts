/**
 * "A fleet of N devices needs …": each row computed from figures of the same run (the
 * figure it uses is named), with what it assumes said in words. Nothing here is measured
 * on its own and no number is invented: an assumption (a check-in interval) is a
 * setting, shown as such, and a row whose figure the run lacks says "n/a".
 */
import { type Figures, fmt } from "./figures.js";

/** How often a device checks its config in the rows that need an interval (BENCH_CAPACITY_CHECK_IN_S). */
export const CHECK_IN_S = Number(process.env.BENCH_CAPACITY_CHECK_IN_S ?? 60);

interface Row {
  need: string;
  measured: string;
  fleet: string;
  assumes: string;
}

const mib = (kib: number) => (Number.isFinite(kib) ? `${fmt(kib / 1024, 1)} MiB` : "n/a");
const duration = (s: number) => (!Number.isFinite(s) ? "n/a" : s < 120 ? `${fmt(s, 1)} s` : `${fmt(s / 60, 1)} min`);

export function capacityRows(f: Figures, devices: number): Row[] {
  const n = fmt(devices);
  const reads = f.value(/^config read 304 on Node rps/);
  const reads200 = f.value(/^config read 200 on Node rps/);
  const saves = f.value(/^write PUT with MQTT tcp rps/);
  const release = f.value(/^rollout release of .* rate/);
  const sink = f.value(/^sink throughput tcp/);
  const reports = f.value(/^status report PUT rps/);
  const server = f.value(/^fleet sim .* server memory per recorded device/);
  const broker = f.value(/^fleet sim .* broker memory per connected device/);
  const disk = f.value(/^fleet sim .* storage per device/);
  const ownTopic = f.value(/^fleet \d+ devices, config messages per device \(per-device topics\)/);
  const readsNeeded = devices / CHECK_IN_S;
  return [
    {
      need: "config checks (cached read, 304)",
      measured: `${f.say(/^config read 304 on Node rps/)} on one Node process (one event loop; the load tool on the other core)`,
      fleet: `${fmt(readsNeeded, 1)} req/s: ${fmt((readsNeeded / reads) * 100, 2)} % of one core`,
      assumes:
        `every device checks once every ${CHECK_IN_S} s with If-None-Match, nothing changed (a 200 rate ` +
        `of ${f.say(/^config read 200 on Node rps/)} when it did); one core holds ${fmt(reads * CHECK_IN_S)} ` +
        `such devices (${fmt(reads200 * CHECK_IN_S)} when each gets a new config)`,
    },
    {
      need: "a config change for every device, saved by a client",
      measured: f.say(/^write PUT with MQTT tcp rps/),
      fleet: duration(devices / saves),
      assumes:
        "one PUT per device at 50 connections, MQTT notification over TCP; each save is durable (fsync) before its answer, so the disk weighs on this",
    },
    {
      need: "a config change for every device, by a rollout",
      measured: f.say(/^rollout release of .* rate/),
      fleet: `${duration(devices / release)} of saving, plus the waves' waits`,
      assumes:
        "one rollout over the whole fleet; the waves' advance conditions (how long devices take to report) add to it",
    },
    {
      need: "MQTT messages per config save",
      measured: `${fmt(ownTopic)} per device on its own topic (fleet simulator)`,
      fleet: `a change for every device: ${n} messages on per-device topics; ${fmt(devices * devices)} deliveries on the shared topic`,
      assumes:
        "`MQTT_DEVICE_TOPICS=true` and devices subscribed to their own topic; on the shared topic every device hears every save",
    },
    {
      need: "notifications",
      measured: `${f.say(/^sink throughput tcp/)} through the notifier and MQTT sink`,
      fleet: `${duration(devices / sink)} to hand one notification per device to the broker`,
      assumes: `a burst of saves for the whole fleet; the client saves above ran at ${fmt((saves / sink) * 100, 1)} % of this rate`,
    },
    {
      need: "status reports (HTTP)",
      measured: f.say(/^status report PUT rps/),
      fleet: `${duration(devices / reports)} of server time when every device reports at once`,
      assumes: "one report per device after a change; each is durable before its answer",
    },
    {
      need: "server memory",
      measured: `${f.say(/^fleet sim .* server memory per recorded device/, 2)} per device`,
      fleet: mib(server * devices),
      assumes:
        "growth from start to every device current in the fleet simulator (configs cached, fetch and report records held), less the process's own baseline; it also holds the run's one firmware upload and the heap's slack, so it overstates for a small fleet",
    },
    {
      need: "broker memory (Mosquitto)",
      measured: `${f.say(/^fleet sim .* broker memory per connected device/, 2)} per device`,
      fleet: mib(broker * devices),
      assumes:
        "one MQTT connection per device, subscribed to its own topics (the run with reports over HTTP); growth from start",
    },
    {
      need: "storage (configs and records)",
      measured: `${f.say(/^fleet sim .* storage per device/, 2)} per device`,
      fleet: mib(disk * devices),
      assumes:
        "allocated blocks of `configs/` and `state/` once every device was current: the simulator's small config and one report each; firmware images are extra (one file each, whatever the fleet)",
    },
  ];
}

export function capacityMarkdown(f: Figures, devices: number): string {
  const rows = capacityRows(f, devices);
  return [
    `Computed from this run's figures for a fleet of ${fmt(devices)} devices (the simulator's size); every ` +
      "row scales linearly with the fleet, except the shared topic's deliveries (with its square). " +
      "Check-in interval: " +
      `${CHECK_IN_S} s (\`BENCH_CAPACITY_CHECK_IN_S\`).`,
    "",
    `| Need | Measured in this run | A fleet of ${fmt(devices)} devices needs | Assumes |`,
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.need} | ${r.measured} | ${r.fleet} | ${r.assumes} |`),
  ].join("\n");
}
