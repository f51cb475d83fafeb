/**
 * The sink conformance suite: every sink plugin's test calls `testSink(...)` in one
 * line. It checks the delivery contract of NotificationSink (see src/core/notify.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isSinkError, type NotificationSink, TOPICS } from "../../src/core/notify.js";
import { waitUntil } from "./wait.js";

export interface SinkUnderTest {
  sink: NotificationSink;
  /** What the far end has received so far, when the sink can be observed (e.g. a subscriber); polled. */
  received?(): Promise<Array<{ topic: string; payload: unknown }>>;
  cleanup(): Promise<void>;
}

export interface SinkConformanceOptions {
  name: string;
  create(): Promise<SinkUnderTest>;
}

const note = (i: number) => ({
  topic: TOPICS.configs,
  payload: { filename: `00-00-00-00-00-${String(i).padStart(2, "0")}.json` },
});

/** Waits until the far end has every one of the notes (a delivered message may still be on its way to an observer). */
async function receivedAll(sut: SinkUnderTest, notes: number[]): Promise<void> {
  const missing = async () => {
    const received = new Set((await sut.received?.())?.map((m) => JSON.stringify([m.topic, m.payload])));
    return notes.filter((i) => !received.has(JSON.stringify([TOPICS.configs, note(i).payload])));
  };
  await waitUntil("the far end to receive every notification", async () => (await missing()).length === 0).catch(
    async (error: Error) => {
      throw new Error(`${error.message}; missing: ${(await missing()).join(", ")}`);
    },
  );
}

export function testSink(options: SinkConformanceOptions): void {
  describe(`sink conformance: ${options.name}`, () => {
    let sut: SinkUnderTest;
    beforeEach(async () => {
      sut = await options.create();
    });
    afterEach(async () => {
      await sut.sink.close();
      await sut.cleanup();
    });

    it("has a short, stable name and a synchronous status", () => {
      expect(sut.sink.name).toMatch(/^[a-z][a-z0-9_-]*$/);
      const status = sut.sink.status();
      expect(typeof status.ready).toBe("boolean");
      expect(status.queueDepth).toBeGreaterThanOrEqual(0);
    });

    it("resolves a publish once delivered", async () => {
      await expect(sut.sink.publish(note(1))).resolves.toBeUndefined();
      if (sut.received) await receivedAll(sut, [1]);
    });

    it("resolves 20 concurrent publishes, each delivered", async () => {
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => sut.sink.publish(note(i))));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill("fulfilled"));
      if (sut.received)
        await receivedAll(
          sut,
          Array.from({ length: 20 }, (_, i) => i),
        );
      expect(sut.sink.status().queueDepth).toBe(0);
    });

    it("closes idempotently, then rejects publishes with a typed SINK_CLOSED", async () => {
      await sut.sink.close();
      await sut.sink.close();
      const error = await sut.sink.publish(note(2)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSinkError(error)).toBe(true);
      expect((error as { code: string }).code).toBe("SINK_CLOSED");
      expect(sut.sink.status().ready).toBe(false);
    });
  });
}
