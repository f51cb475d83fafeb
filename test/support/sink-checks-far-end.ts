/**
 * The conformance kit's checks against a far end that misbehaves: one that stalls with
 * publishes in flight, a link that drops and comes back, a queue pushed past its limit.
 *
 * Each starts from a sink that is ready and idle (a first publish delivered), because a
 * sink still connecting holds everything in its queue: a stall or a drop before that
 * tests only the queue, never what is on the wire (a close() that forgets in-flight
 * publishes passed the kit that way). "In flight" is proven, not assumed: the kit waits
 * until the stalled far end has a publish it has not answered.
 */
import { expect } from "vitest";
import type { SinkCheck } from "./sink-checks.js";
import {
  batch,
  becomeReady,
  type CheckContext,
  type Link,
  need,
  note,
  outcomes,
  receivedAll,
  type SinkUnderTest,
  type Stalled,
  settled,
  type Watched,
  watch,
} from "./sink-under-test.js";
import { waitUntil } from "./wait.js";

/** Stalls the far end of a ready sink and publishes `count`, returning once one of them is provably on the wire. */
async function inFlight(sut: SinkUnderTest, count: number, context: CheckContext) {
  await becomeReady(sut.sink, context);
  const stalled: Stalled = await need("stall", sut.stall)();
  const notes = batch(1, count);
  const publishes = notes.map((n) => watch(sut.sink.publish(n)));
  await waitUntil(
    "a publish to reach the stalled far end (in flight, unanswered)",
    async () => (await stalled.arrived()) > 0,
    context.deadlineMs,
  );
  return { stalled, notes, publishes };
}

/** Waits until the sink says it cannot deliver: it has noticed the dropped link. */
const noticed = (sut: { sink: SinkUnderTest["sink"] }, { deadlineMs }: CheckContext) =>
  waitUntil("the sink to notice the dropped link (status().ready false)", () => !sut.sink.status().ready, deadlineMs);

/** Runs `body` with the link dropped, and restores it whatever happens (also if `body` restored it already). */
async function withLinkDown(link: Link, body: (restore: () => Promise<void>) => Promise<void>): Promise<void> {
  let down = true;
  const restore = async () => {
    if (down) await link.restore();
    down = false;
  };
  await link.drop();
  try {
    await body(restore);
  } finally {
    await restore();
  }
}

const allDelivered = async (publishes: Watched[], context: CheckContext) =>
  expect(await settled(publishes, "every publish to settle once the link is back", context)).toEqual(
    Array(publishes.length).fill("delivered"),
  );

export const FAR_END_CHECKS = {
  holdsUntilAcknowledged: {
    title: "resolves no publish the far end has received but not acknowledged",
    needs: ["stall"],
    async run(sut, context) {
      const { stalled, publishes } = await inFlight(sut, 10, context);
      try {
        // The far end holds at least one of them, unanswered: none may count as delivered yet.
        expect(outcomes(publishes), "outcomes while the far end has not answered").toEqual(
          Array(publishes.length).fill(undefined),
        );
      } finally {
        await stalled.resume();
      }
    },
  },

  closeSettlesInFlight: {
    title: "settles every publish in flight on close() (delivered or SINK_CLOSED), none left pending",
    needs: ["stall"],
    async run(sut, context) {
      const { stalled, publishes } = await inFlight(sut, 10, context);
      try {
        let closed = false;
        const closing = sut.sink.close().then(() => {
          closed = true;
        });
        await waitUntil("close() to finish", () => closed, context.deadlineMs);
        await closing;
        const settledOutcomes = await settled(publishes, "every publish to settle after close()", context);
        for (const outcome of settledOutcomes) expect(["delivered", "SINK_CLOSED"]).toContain(outcome);
        expect(sut.sink.status()).toEqual({ ready: false, queueDepth: 0 });
      } finally {
        await stalled.resume();
      }
    },
  },

  resendsAfterDrop: {
    title: "delivers what was published while the link was down once it is back, in order per topic",
    needs: ["link"],
    async run(sut, context) {
      const link = need("link", sut.link);
      await becomeReady(sut.sink, context);
      const notes = batch(1, 10);
      await withLinkDown(link, async (restore) => {
        const publishes = notes.map((n) => watch(sut.sink.publish(n)));
        await noticed(sut, context);
        await restore();
        await allDelivered(publishes, context);
      });
      await receivedAll(sut, notes, context, true);
    },
  },

  resendsInFlight: {
    title: "re-sends what was in flight when the link dropped, in order per topic, with what came after",
    needs: ["link", "stall"],
    async run(sut, context) {
      const link = need("link", sut.link);
      // More than a sink's usual window (MQTT's is 20), so some wait in its queue behind those in flight.
      const { stalled, notes, publishes } = await inFlight(sut, 30, context);
      const later = batch(31, 10);
      await withLinkDown(link, async (restore) => {
        // The far end answers again, but the connection that carried the in-flight publishes is gone.
        await stalled.resume();
        const laterPublishes = later.map((n) => watch(sut.sink.publish(n)));
        await noticed(sut, context);
        await restore();
        await allDelivered([...publishes, ...laterPublishes], context);
      });
      await receivedAll(sut, [...notes, ...later], context, true);
    },
  },

  dropsOldestWhenFull: {
    title: "past its queue limit drops the oldest (SINK_DROPPED) and delivers the newest, in order",
    needs: ["queueLimit", "link"],
    async run(sut, context) {
      const link = need("link", sut.link);
      const bounded = await need("queueLimit", sut.bounded)(3);
      try {
        await becomeReady(bounded.sink, context);
        const notes = [1, 2, 3, 4, 5].map((i) => note(i));
        await withLinkDown(link, async (restore) => {
          const publishes = notes.map((n) => watch(bounded.sink.publish(n)));
          await waitUntil(
            "two publishes pushed out of the full queue",
            () => publishes.filter((p) => p.outcome !== undefined).length >= 2,
            context.deadlineMs,
          ).catch((error: Error) => {
            throw new Error(`${error.message}; outcomes: ${JSON.stringify(outcomes(publishes))}`);
          });
          expect(outcomes(publishes), "outcomes with the link down").toEqual([
            "SINK_DROPPED",
            "SINK_DROPPED",
            undefined,
            undefined,
            undefined,
          ]);
          await restore();
          const final = await settled(publishes, "the kept publishes to settle once the link is back", context);
          expect(final).toEqual(["SINK_DROPPED", "SINK_DROPPED", "delivered", "delivered", "delivered"]);
        });
        await receivedAll(sut, notes.slice(2), context, true);
        const received = JSON.stringify((await sut.received?.()) ?? []);
        for (const dropped of notes.slice(0, 2)) expect(received).not.toContain(dropped.payload.filename);
      } finally {
        await bounded.sink.close();
        await bounded.cleanup();
      }
    },
  },
} satisfies Record<string, SinkCheck>;
