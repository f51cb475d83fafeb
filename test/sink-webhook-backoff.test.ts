/**
 * The webhook sink's back-off, against a real receiver on loopback
 * (test/support/webhook-receiver.ts): its schedule and jitter (read through an injected wait,
 * so the test need not wait it out), and how it holds when the queue overflows.
 *
 * Against a receiver that never answers, each overflow drops the notification
 * in flight; the sink used to start the next attempt at once after every such drop (about 255
 * POSTs in 1 s to a receiver that never answers). The back-off must hold across drops.
 *
 * No assertion on speed: the bound on the number of POSTs follows from the back-off schedule
 * alone (at least 200 ms, doubling), which no run of this test lasts long enough to reach.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { TOPICS } from "../src/core/sinks/contract.js";
import { createWebhookSink } from "../src/plugins/sinks/webhook.js";
import { sleep } from "./support/wait.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";
import { note, SECRET, webhookSink } from "./support/webhook-sink.js";

const PUBLISHES = 100;
/**
 * 12 attempts with the back-off kept take at least 200 ms × (2^11 − 1) ≈ 410 s of back-off
 * (the default schedule, 250 ms doubling, at its lowest jitter), far past this test's timeout;
 * without it there is about one POST per publish.
 */
const MOST_POSTS = 12;

describe("webhook sink back-off across queue overflows", () => {
  let receiver: WebhookReceiver;
  beforeEach(async () => {
    receiver = await startWebhookReceiver({ secret: SECRET });
  });
  afterEach(async () => {
    await receiver.close();
  });

  it(`sends at most ${MOST_POSTS} POSTs to a receiver that never answers while ${PUBLISHES} publishes overflow a queue of 1`, async () => {
    receiver.stall();
    const logger = createMemoryLogger();
    const sink = createWebhookSink({
      url: new URL(receiver.url),
      secret: SECRET,
      // Longer than the test: every attempt ends by being dropped, none by timing out.
      timeoutMs: 120_000,
      queueLimit: 1,
      maxAttempts: 0,
      logger,
    });
    const outcomes: Array<Promise<string>> = [];
    try {
      for (let i = 0; i < PUBLISHES; i++) {
        outcomes.push(
          sink.publish({ topic: TOPICS.configs, payload: { filename: `n-${i}.json` } }).then(
            () => "delivered",
            (error: { code?: string }) => error.code ?? String(error),
          ),
        );
        // Pacing, so that each publish finds an attempt out (a burst would drop all but the last before any POST).
        await sleep(10);
      }
      // Each publish pushed the one before it out of the queue: nothing was delivered.
      expect(new Set(await Promise.all(outcomes.slice(0, -1)))).toEqual(new Set(["SINK_DROPPED"]));
      // Requests that reached the receiver (an attempt cut within 10 ms may not even get there).
      expect(receiver.requests.length).toBeLessThanOrEqual(MOST_POSTS);
      // A receiver that answers nothing before the queue overflows is not a working one.
      expect(sink.status().ready).toBe(false);
      expect(logger.entries.filter((e) => e.level === "warn")).toEqual([
        expect.objectContaining({ reason: "no answer before it was dropped from the full queue" }),
      ]);
    } finally {
      await sink.close();
    }
    expect(await outcomes.at(-1)).toBe("SINK_CLOSED");
  });
});

describe("webhook sink back-off schedule", () => {
  let receiver: WebhookReceiver;
  beforeEach(async () => {
    receiver = await startWebhookReceiver({ secret: SECRET });
  });
  afterEach(async () => {
    await receiver.close();
  });

  it("backs off 250 ms doubling to 30 s, and starts over after a success", async () => {
    const delays: number[] = [];
    receiver.answer(...Array<number>(9).fill(500));
    // random 0.5 is the middle of the jitter (0.8×–1.2×): the schedule itself.
    const sink = webhookSink(receiver.url, {
      random: () => 0.5,
      wait: async (ms) => {
        delays.push(ms);
      },
    });
    try {
      await sink.publish(note(1));
      expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
      receiver.answer(500);
      await sink.publish(note(2));
      expect(delays.slice(9)).toEqual([250]);
    } finally {
      await sink.close();
    }
  });

  it("keeps the jitter within 0.8× to 1.2× of the schedule", async () => {
    const delays: number[] = [];
    receiver.answer(500, 500);
    const randoms = [0, 0.999];
    const sink = webhookSink(receiver.url, {
      random: () => randoms.shift() ?? 0.5,
      wait: async (ms) => {
        delays.push(ms);
      },
    });
    try {
      await sink.publish(note(1));
      expect(delays).toEqual([200, 600]);
    } finally {
      await sink.close();
    }
  });
});
