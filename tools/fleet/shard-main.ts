/**
 * A shard: a child process of the fleet driver holding a slice of the devices (a local
 * group, group.ts) and answering the driver's calls over IPC. It has no life of its own:
 * when the driver goes (its IPC channel closes) it disconnects its devices and exits, and
 * the driver kills it by PID if it does not.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createLocalGroup, type DeviceGroup } from "./group.js";
import type { ShardReply, ShardRequest } from "./shard-protocol.js";

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let group: DeviceGroup | undefined;

const started = (): DeviceGroup => {
  if (!group) throw new Error("the shard was not started");
  return group;
};

async function handle(request: ShardRequest): Promise<unknown> {
  switch (request.op) {
    case "start":
      group = createLocalGroup(request.settings);
      return undefined;
    case "connect":
      return started().connect();
    case "planned":
      return started().planned(request.saves, request.upload);
    case "settled":
      return started().settled();
    case "finish": {
      const result = await started().finish();
      loopDelay.disable();
      return {
        ...result,
        eventLoopDelayMs: {
          p99: Math.round(loopDelay.percentile(99) / 1e5) / 10,
          max: Math.round(loopDelay.max / 1e5) / 10,
        },
      };
    }
  }
}

const reply = (message: ShardReply) => process.send?.(message);

process.on("message", (request: ShardRequest) => {
  handle(request).then(
    (value) => reply({ id: request.id, ok: true, value }),
    (error: unknown) =>
      reply({
        id: request.id,
        ok: false,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }),
  );
});

process.on("disconnect", () => {
  // The driver is gone (done, or died): nothing more will be asked, so close and leave.
  const closing = group ? group.close() : Promise.resolve();
  closing.then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`shard: closing the devices failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
