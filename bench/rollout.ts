/**
 * Rollouts at fleet size (issue 20, Performance), each against a baseline of the same run:
 *
 * a) Release rate: a rollout with one wave of 5,000 devices saves their configs at
 *    ≥ 0.8× the rate of 5,000 `PUT /api/configs/{mac}` a client sends, IN_FLIGHT at once
 *    (as many as a release saves at once). Both are timed to the last config
 *    notification (sent once the config is durably saved, the same moment for both), the
 *    rollout from its create request; rounds alternate. Each rollout's configs are then
 *    checked on disk and the rollout aborted, so the next may target the same devices.
 * b) Decision latency at 10,000 devices: sequential rollouts with waves 1, 10, 50, 100 %
 *    and advance_when 100 %; the bench plays the devices (a status report for each config
 *    notification, with its ETag), notes when the last report of a wave (the tipping one)
 *    was answered, and polls GET /api/rollouts/{id} every 20 ms until the next wave's
 *    released_at appears. Goal p99 ≤ 2 s; the baseline is the reports' own PUT p50.
 *
 * Needs dist (node scripts/build.mjs); `npm run bench` builds it first.
 */

import { waveSizes } from "../tools/fleet/rollout-plan.js";
import { baseContent, IN_FLIGHT, inFlight, type RolloutFleet, startRolloutFleet } from "./support/rollout-fixture.js";
import { alternate, logRounds, median } from "./support/rounds.js";
import { isMain, percentile, report, sleep } from "./support/stats.js";

const RELEASE_DEVICES = Number(process.env.BENCH_ROLLOUT_RELEASE_DEVICES ?? 5000);
const DECISION_DEVICES = Number(process.env.BENCH_ROLLOUT_DECISION_DEVICES ?? 10_000);
const DECISION_ROLLOUTS = Number(process.env.BENCH_ROLLOUT_DECISIONS ?? 4);
const RELEASE_ROUNDS = Number(process.env.BENCH_ROLLOUT_ROUNDS ?? 2);
const POLL_MS = 20;
const DECISION_WAVES = [1, 10, 50, 100];
/** Long enough for 10,000 saves and reports on a loaded 2-core machine. */
const PHASE_TIMEOUT_MS = 600_000;

/** Thresholds that never decide by themselves: a wave advances only once every device applied, nothing halts. */
const patient = { advance_when: { applied_percent: 100, within_s: 3600 }, halt_when: { failed_percent: 100 } };

async function releaseRate(): Promise<string[]> {
  const fleet = await startRolloutFleet(RELEASE_DEVICES);
  const { macs } = fleet;
  let round = 0;
  try {
    const results = await alternate(
      {
        puts: async () => {
          round++;
          const expected = fleet.heard() + macs.length;
          const started = performance.now();
          await inFlight(
            macs.map((mac, i) => [mac, i] as const),
            IN_FLIGHT,
            async ([mac, i]) => {
              const res = await fetch(`${fleet.server.url}/api/configs/${mac}`, {
                method: "PUT",
                headers: { "Content-Type": "application/json" },
                // The same bytes a rollout writes: the base content with the patch merged in.
                body: JSON.stringify({ content: { ...baseContent(i), bench: { round, via: "p" } } }),
              });
              await res.arrayBuffer();
              if (res.status !== 200) throw new Error(`PUT /api/configs/${mac}: ${res.status}`);
            },
          );
          const done = await fleet.untilHeard(expected, PHASE_TIMEOUT_MS);
          return macs.length / ((done - started) / 1000);
        },
        rollout: async () => {
          round++;
          const expected = fleet.heard() + macs.length;
          const started = performance.now();
          const created = await fleet.api.create({
            name: `bench-release-${round}`,
            patch: { bench: { round, via: "r" } },
            targets: macs,
            waves: [100],
            ...patient,
          });
          const done = await fleet.untilHeard(expected, PHASE_TIMEOUT_MS);
          await checkReleased(fleet, created.id, round);
          await fleet.api.act(created.id, "abort");
          return macs.length / ((done - started) / 1000);
        },
      },
      RELEASE_ROUNDS,
    );
    logRounds(results, (rate) => rate, "configs/s", "puts");
    const rollout = median(results.rollout, (r) => r);
    const puts = median(results.puts, (r) => r);
    return [
      report(
        `rollout release of ${macs.length} configs rate vs ${macs.length} client PUTs (${IN_FLIGHT} in flight)`,
        rollout,
        "configs/s",
        puts,
        0,
      ),
    ];
  } finally {
    await fleet.stop();
  }
}

/** The rollout says every device is released and every config on disk carries its patch. */
async function checkReleased(fleet: RolloutFleet, id: string, round: number): Promise<void> {
  const view = await fleet.api.get(id);
  if (view.counts.released !== fleet.macs.length) {
    throw new Error(`rollout ${id}: released ${view.counts.released} of ${fleet.macs.length}`);
  }
  for (const mac of fleet.macs) {
    const bench = (await fleet.stored(mac)).bench as { round?: number; via?: string } | undefined;
    if (bench?.round !== round || bench.via !== "r") throw new Error(`${mac}: the stored config lacks the patch`);
  }
}

interface DecisionRun {
  /** Tipping report answered → next wave's released_at seen, per advance. */
  latencies: number[];
  /** Every status report's PUT round trip. */
  reportMs: number[];
}

/** One rollout over the whole fleet, reported on by the bench as devices would, until it completes. */
async function decisionRun(fleet: RolloutFleet, round: number): Promise<DecisionRun> {
  const { macs } = fleet;
  const sizes = waveSizes(DECISION_WAVES, macs.length);
  const waveOf = new Map<string, number>();
  let first = 0;
  sizes.forEach((size, k) => {
    for (const mac of macs.slice(first, first + size)) waveOf.set(mac, k);
    first += size;
  });
  const answered = sizes.map(() => 0);
  const tips: Array<number | undefined> = sizes.map(() => undefined);
  const reportMs: number[] = [];
  const queue: Array<{ mac: string; etag: string }> = [];
  let running = 0;
  let failure: Error | undefined;
  const pump = () => {
    while (running < IN_FLIGHT && queue.length > 0) {
      const { mac, etag } = queue.shift() as { mac: string; etag: string };
      running++;
      const sent = performance.now();
      fetch(`${fleet.server.url}/files/status/${mac}.json`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ state: "ok", config_etag: etag }),
      })
        .then(async (res) => {
          await res.arrayBuffer();
          if (res.status !== 204) throw new Error(`PUT /files/status/${mac}.json: ${res.status}`);
          const at = performance.now();
          reportMs.push(at - sent);
          const k = waveOf.get(mac) as number;
          answered[k] = (answered[k] as number) + 1;
          if (answered[k] === sizes[k]) tips[k] = at;
        })
        .catch((error: unknown) => {
          failure ??= error instanceof Error ? error : new Error(String(error));
        })
        .finally(() => {
          running--;
          pump();
        });
    }
  };
  fleet.onNotice(({ mac, etag }) => {
    if (!waveOf.has(mac)) return;
    if (etag === undefined) failure ??= new Error(`the notification for ${mac} carried no etag`);
    else queue.push({ mac, etag });
    pump();
  });
  try {
    const created = await fleet.api.create({
      name: `bench-decisions-${round}`,
      patch: { bench: { decision: round } },
      targets: macs,
      waves: DECISION_WAVES,
      ...patient,
    });
    const seen: Array<number | undefined> = sizes.map(() => undefined);
    const deadline = performance.now() + PHASE_TIMEOUT_MS;
    for (;;) {
      if (failure) throw failure;
      const view = await fleet.api.get(created.id);
      const at = performance.now();
      view.waves.forEach((wave, k) => {
        if (wave.released_at !== null) seen[k] ??= at;
      });
      if (view.state === "completed") break;
      if (view.state !== "running") throw new Error(`rollout ${created.id} ended ${view.state}`);
      if (at > deadline) throw new Error(`rollout ${created.id} not completed: ${JSON.stringify(view.counts)}`);
      await sleep(POLL_MS);
    }
    const latencies = sizes.slice(1).map((_, k) => (seen[k + 1] as number) - (tips[k] as number));
    console.log(`  rollout ${created.id}: ${latencies.map((ms) => ms.toFixed(0)).join(", ")} ms from tip to release`);
    return { latencies, reportMs };
  } finally {
    fleet.onNotice(undefined);
  }
}

async function decisionLatency(): Promise<string[]> {
  const fleet = await startRolloutFleet(DECISION_DEVICES);
  try {
    const runs: DecisionRun[] = [];
    for (let round = 1; round <= DECISION_ROLLOUTS; round++) runs.push(await decisionRun(fleet, round));
    const latencies = runs.flatMap((run) => run.latencies);
    const reportP50 = percentile(
      runs.flatMap((run) => run.reportMs),
      50,
    );
    const what = `at ${fleet.macs.length} devices (tipping report → next wave released, ${latencies.length} advances) vs a report PUT p50`;
    return [
      report(`rollout decision latency p50 ${what}`, percentile(latencies, 50), "ms", reportP50, 0),
      report(`rollout decision latency p99 ${what}`, percentile(latencies, 99), "ms", reportP50, 0),
    ];
  } finally {
    await fleet.stop();
  }
}

export async function rolloutBench(): Promise<string[]> {
  return [...(await releaseRate()), ...(await decisionLatency())];
}

if (isMain(import.meta.url)) await rolloutBench();
