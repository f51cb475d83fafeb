/**
 * runFleet(options): one whole simulator run, callable in-process (tests, the
 * benchmark runner) as well as from the CLI. It owns everything it starts (broker,
 * server, shards, temp folders, thousands of MQTT clients, HTTP pools) and stops all of
 * it before returning or throwing, including when `signal` is aborted (Ctrl-C).
 */
import { randomBytes } from "node:crypto";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { loadSigningKey } from "../../src/cli/signing-key.js";
import { createAdmin } from "./admin.js";
import { createCleanup } from "./cleanup.js";
import { now } from "./clock.js";
import { FleetError, throwIfAborted } from "./errors.js";
import { describeFds, grownKinds, settledFds, steadyFds } from "./fds.js";
import { type FleetViewOutcome, waitForFleetView } from "./fleet-view.js";
import { issueTokens, startGroups } from "./groups.js";
import { createHttpErrors } from "./http-errors.js";
import { type StartedResource, startInfrastructure } from "./infra.js";
import { macOf } from "./mac.js";
import { checkOptions, type FleetOptions, withDefaults } from "./options.js";
import { parseRecordWrites, recordWritesBetween } from "./record-writes.js";
import { buildReport, type FleetReport, problemsOf } from "./report.js";
import { runRollout } from "./rollout.js";
import { type Measurements, runScenario } from "./scenario.js";

export { macOf } from "./mac.js";
export type { FleetOptions } from "./options.js";
export type { FleetReport } from "./report.js";

export interface FleetHooks {
  /** Aborting stops the run at the next step; everything started is still cleaned up. */
  signal?: AbortSignal;
  /** Progress lines (the CLI prints them on stderr). */
  log?(line: string): void;
  /** Told of each process the run starts, before anything else can fail. */
  started?(resource: StartedResource): void;
}

export async function runFleet(
  input: Partial<FleetOptions> & { devices: number },
  hooks: FleetHooks = {},
): Promise<FleetReport> {
  const options = withDefaults(input);
  checkOptions(options);
  const log = hooks.log ?? (() => {});
  const started = hooks.started ?? (() => {});
  const { signal } = hooks;
  const cleanup = createCleanup();
  const errors = createHttpErrors();
  const runId = randomBytes(4).toString("hex");
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  cleanup.add("stop the event-loop monitor", () => {
    loopDelay.disable();
  });

  let report: FleetReport | undefined;
  try {
    const infra = await startInfrastructure(options, cleanup, started);
    throwIfAborted(signal);
    const key = await loadSigningKey(infra.keyPath).catch((error: unknown) => {
      throw new FleetError("SETUP", error instanceof Error ? error.message : String(error), { cause: error });
    });
    const admin = createAdmin(infra.serverUrl, options.token, options.saveConcurrency, errors);
    cleanup.add("close the admin connections", () => admin.close());
    log(`broker ${infra.brokerUrl}, server ${infra.serverUrl}`);
    await admin.waitUntilNotifying(signal);

    const pid = infra.serverPid;
    const before = pid === undefined ? undefined : await steadyFds(pid);
    const kindsBefore = pid === undefined ? undefined : await describeFds(pid);
    if (options.deviceTokens) log(`issuing ${options.devices} device tokens`);
    const tokens = options.deviceTokens ? await issueTokens(admin, options, signal) : undefined;
    const groups = await startGroups({ options, tokens, infra, runId, cleanup, started, log });
    throwIfAborted(signal);

    const writesBefore = parseRecordWrites(await admin.metrics());
    let firstSaveAt = now();
    let viewWait: Promise<FleetViewOutcome> | undefined;
    const watchView = (lastChangeAt: number, timeoutMs: number) =>
      waitForFleetView({
        admin,
        macs: Array.from({ length: options.devices }, (_, i) => macOf(i)),
        reporting: options.report !== "none",
        lastChangeAt,
        timeoutMs,
        signal,
        log,
      });
    let measurements: Measurements;
    try {
      measurements = await runScenario({
        groups,
        admin,
        key,
        options,
        runId,
        signal,
        log,
        // Watched from the last save on, while devices converge: the figure is the server's, not the wait's.
        afterSaves(saves) {
          const ok = saves.filter((save) => save.ok);
          if (ok.length > 0) firstSaveAt = Math.min(...ok.map((save) => save.sentAt));
          const lastChangeAt = ok.length > 0 ? Math.max(...ok.map((save) => save.respondedAt)) : now();
          const watching = watchView(lastChangeAt, options.viewTimeoutSeconds * 1000);
          // Awaited below; this only keeps a rejection meanwhile (Ctrl-C) from counting as unhandled.
          watching.catch(() => undefined);
          viewWait = watching;
        },
      });
    } catch (error) {
      // The scenario's failure is the run's; the view's own (the same abort, most likely) is not reported twice.
      await viewWait?.catch((viewError: unknown) => log(`fleet view wait ended: ${String(viewError)}`));
      throw error;
    }
    const view = await (viewWait ?? watchView(now(), 0));
    log(
      view.failure ??
        `the fleet view showed every device current ${Math.round(view.allCurrentAfterMs ?? 0)} ms after the last save`,
    );
    const writesAfter = parseRecordWrites(await admin.metrics());
    const windowSeconds = (now() - firstSaveAt) / 1000;
    const rollout = options.rollout
      ? await runRollout({
          admin,
          plan: options.rollout,
          macs: Array.from({ length: options.devices }, (_, i) => macOf(i)),
          runId,
          timeoutMs: options.timeoutSeconds * 1000,
          signal,
          log,
        })
      : undefined;

    // Everything of ours that touches the server goes before its descriptors are counted again.
    const results = await Promise.all(groups.map((group) => group.finish()));
    for (const result of results) errors.absorb(result.errors);
    admin.close();
    const after = pid === undefined || before === undefined ? undefined : await settledFds(pid, before);
    const kindsAfter = pid === undefined ? undefined : await describeFds(pid);
    const grown = kindsBefore && kindsAfter ? grownKinds(kindsBefore, kindsAfter) : undefined;
    loopDelay.disable();
    const delays = [
      { p99: Math.round(loopDelay.percentile(99) / 1e5) / 10, max: Math.round(loopDelay.max / 1e5) / 10 },
      ...results.flatMap((result) => (result.eventLoopDelayMs ? [result.eventLoopDelayMs] : [])),
    ];
    report = buildReport({
      options,
      shards: groups.length,
      records: results.flatMap((result) => result.records),
      measurements,
      view,
      recordWrites: recordWritesBetween(writesBefore, writesAfter, options.devices, windowSeconds),
      // Only our own server is known to count them; an external one may be older.
      recordWritesExpected: options.server === undefined,
      errors,
      fds: { before, after, grown },
      brokerDrops: infra.brokerDrops(),
      serverWarnings: infra.serverWarnings(),
      eventLoopDelayMs: {
        p99: Math.max(...delays.map((d) => d.p99)),
        max: Math.max(...delays.map((d) => d.max)),
      },
      rollout,
    });
    // The cleanup below still runs, and adds its own failures to this same report.
    return report;
  } finally {
    log("cleaning up");
    const failures = await cleanup.run();
    for (const failure of failures) log(`cleanup failed: ${failure}`);
    if (report) {
      report.cleanupFailures = failures;
      report.problems = problemsOf(report);
      report.ok = report.problems.length === 0;
    }
  }
}
