/**
 * devices({maxAgeMs}): a running rollout asks the fleet records for others' reports at most a
 * second old (SPEC: decided within 2 s of the tipping report), while every other reader keeps
 * the default RESCAN_MS. Two recorders over one memory state store stand for two processes;
 * the clock is the test's.
 */
import { describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { createFleetRecords, RESCAN_MS } from "../src/features/fleet/fleet-records.js";
import { createMemoryState } from "../src/plugins/storage/memory-state.js";

const MAC = "aa-00-00-00-00-01";

describe("fleet records: how fresh others' reports are", () => {
  it("a reader asking for maxAgeMs 1000 sees another's report a second later; the default waits RESCAN_MS", async () => {
    const state = createMemoryState();
    const clock = { now: 1_700_000_000_000 };
    const make = () =>
      createFleetRecords({
        state,
        logger: createMemoryLogger(),
        now: () => clock.now,
        observer: { deviceRecordWrite() {} },
      });
    const [reporter, reader] = [make(), make()];
    await reader.devices();
    await reporter.reported(MAC, { state: "ok" });
    clock.now += 1000;
    expect((await reader.devices()).has(MAC)).toBe(false);
    expect((await reader.devices({ maxAgeMs: 1000 })).get(MAC)?.report?.report.state).toBe("ok");
    expect(RESCAN_MS).toBeGreaterThan(1000);
    await reporter.close();
    await reader.close();
  });
});
