/**
 * The conformance kit's own tests: a kit that passes broken sinks proves nothing. Each
 * check runs against a sink correct in every way the kit can see (it must pass), and
 * against the same sink with one deliberate bug (the check made for it must fail, and say
 * why). The sinks are in-process fakes on purpose (test/support/broken-sinks.ts): here they
 * are the subject; the real sinks go through the same kit against real far ends in their
 * own test files.
 */
import { describe, expect, it } from "vitest";
import { type Bugs, brokenUnderTest } from "./support/broken-sinks.js";
import type { SinkCheck } from "./support/sink-checks.js";
import { runCheck, SINK_CHECKS, type SinkCheckName } from "./support/sink-conformance.js";

/** Short: a correct fake settles in milliseconds, and a broken one should fail the run quickly. */
const QUICK = { deadlineMs: 1500 };

/** What no in-process fake can offer: a refusing far end and a plugin; the real sinks' tests check those. */
const FAKE_LACKS = new Set(["refusing", "registry", "invalidSettings"]);

const applicable = (Object.entries(SINK_CHECKS) as Array<[SinkCheckName, SinkCheck]>).filter(([, check]) =>
  check.needs.every((capability) => !FAKE_LACKS.has(capability)),
);

/** Each bug the issue found the kit missing (and a few of the same kind), the check that must catch it, and what it says. */
const CAUGHT: Array<[string, keyof Bugs, SinkCheckName, RegExp]> = [
  [
    "close() settles queued publishes but forgets those already sent",
    "closeForgetsInFlight",
    "closeSettlesInFlight",
    /every publish to settle after close\(\).*publishes still pending/,
  ],
  [
    "a publish resolves before the far end acknowledges it",
    "resolvesOnSend",
    "holdsUntilAcknowledged",
    /outcomes while the far end has not answered/,
  ],
  [
    "what was in flight when the connection broke is never re-sent",
    "forgetsInFlightOnDrop",
    "resendsInFlight",
    /every publish to settle once the link is back.*publishes still pending/,
  ],
  [
    "what was in flight is re-sent behind the queue (out of order)",
    "resendsBehindQueue",
    "resendsInFlight",
    /the order in which they first reached the far end/,
  ],
  [
    "it never reconnects after the link dropped",
    "neverReconnects",
    "resendsAfterDrop",
    /every publish to settle once the link is back.*publishes still pending/,
  ],
  [
    "a full queue refuses the newest publish instead of dropping the oldest",
    "dropsNewest",
    "dropsOldestWhenFull",
    /outcomes with the link down/,
  ],
];

describe("the sink conformance kit", () => {
  it.each(applicable)("passes a sink without bugs: %s", async (_, check) => {
    await runCheck(check, brokenUnderTest(), QUICK);
  });

  it.each(CAUGHT)("fails a sink where %s (%s), in %s", async (_, bug, name, message) => {
    await expect(runCheck(SINK_CHECKS[name], brokenUnderTest({ [bug]: true }), QUICK)).rejects.toThrow(message);
  });

  it("asks for every capability a check needs, or a reason in `lacks`", async () => {
    const { stall: _, ...withoutStall } = await brokenUnderTest()();
    await expect(
      runCheck(SINK_CHECKS.closeSettlesInFlight, async () => ({ ...withoutStall, stall: undefined })),
    ).rejects.toThrow(/offers no "stall": provide it, or give the reason in `lacks`/);
  });
});
