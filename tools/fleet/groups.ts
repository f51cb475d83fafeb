/**
 * The fleet's devices, in this process or split over shards (shards.ts says how many are
 * needed for the open-file limit; --shards overrides). Each group gets its share of the
 * fleet-wide bounds, so the server sees the same load whatever the split. Every group
 * started is registered with the cleanup at once; a shard that fails to start stops the
 * run after the others are registered, so none is left behind.
 */
import type { Admin } from "./admin.js";
import type { Cleanup } from "./cleanup.js";
import { FleetError } from "./errors.js";
import { openFileLimit } from "./fds.js";
import { createLocalGroup, type DeviceGroup, type GroupSettings } from "./group.js";
import type { Infrastructure, StartedResource } from "./infra.js";
import { forEachLimited } from "./limit.js";
import { macOf } from "./mac.js";
import type { FleetOptions } from "./options.js";
import { rolloutMarker } from "./rollout-plan.js";
import { startShard } from "./shard.js";
import { reservedFds, shardsNeeded, splitDevices } from "./shards.js";

export interface GroupsDeps {
  options: FleetOptions;
  /** Each device's own token, in fleet order (--device-tokens). */
  tokens?: string[];
  infra: Infrastructure;
  runId: string;
  cleanup: Cleanup;
  started(resource: StartedResource): void;
  log(line: string): void;
}

/** One token per device (DEVICE_AUTH=device), issued through the admin API before any device starts. */
export async function issueTokens(admin: Admin, options: FleetOptions, signal?: AbortSignal): Promise<string[]> {
  const tokens: Array<string | undefined> = new Array(options.devices);
  await forEachLimited(
    tokens,
    options.saveConcurrency,
    async (_, index) => {
      tokens[index] = await admin.issueDeviceToken(macOf(index));
    },
    signal,
  );
  const missing = tokens.filter((token) => token === undefined).length;
  if (missing > 0) throw new FleetError("SETUP", `${missing} device tokens could not be issued; see the HTTP errors`);
  return tokens as string[];
}

export async function startGroups(deps: GroupsDeps): Promise<DeviceGroup[]> {
  const { options, infra, cleanup } = deps;
  const limit = await openFileLimit();
  const reserved = reservedFds(options.fetchConcurrency, options.saveConcurrency);
  const count = options.shards ?? shardsNeeded(options.devices, limit, reserved);
  const ranges = splitDevices(options.devices, count);
  const largest = Math.max(...ranges.map((r) => r.count));
  if (limit !== undefined && largest > limit - reserved) {
    throw new FleetError(
      "USAGE",
      `a process may hold ${limit} open files (ulimit -n), too few for ${largest} devices per shard: use --shards ${shardsNeeded(options.devices, limit, reserved)} or more`,
    );
  }
  const settingsOf = (range: { first: number; count: number }): GroupSettings => ({
    ...range,
    brokerUrl: infra.brokerUrl,
    serverUrl: infra.serverUrl,
    mqttVersion: options.mqttVersion,
    perDeviceTopics: options.perDeviceTopics,
    report: options.report,
    firmwareVersion: `sim-${deps.runId}`,
    failingDevices: options.failingDevices,
    rollout: options.rollout && { marker: rolloutMarker(deps.runId), failShare: options.rollout.failShare },
    tokens: deps.tokens?.slice(range.first, range.first + range.count),
    clientIdPrefix: `fleet-${deps.runId}`,
    connectConcurrency: Math.ceil(options.connectConcurrency / count),
    fetchConcurrency: Math.ceil(options.fetchConcurrency / count),
  });

  if (count === 1) {
    const group = createLocalGroup(settingsOf(ranges[0] as { first: number; count: number }));
    cleanup.add("disconnect the devices", () => group.close());
    return [group];
  }
  deps.log(`starting ${count} shards of about ${largest} devices each`);
  const outcomes = await Promise.allSettled(
    ranges.map((range, index) =>
      startShard(index, settingsOf(range), (pid) => deps.started({ kind: "shard", pid })).then((shard) => {
        cleanup.add(`stop shard ${index} (pid ${shard.pid})`, () => shard.close());
        return shard;
      }),
    ),
  );
  const failed = outcomes.find((o) => o.status === "rejected");
  if (failed) {
    const reason = failed.reason as unknown;
    throw new FleetError("SETUP", `a shard could not start: ${reason instanceof Error ? reason.message : reason}`, {
      cause: reason,
    });
  }
  return outcomes.map((o) => (o as PromiseFulfilledResult<DeviceGroup>).value);
}
