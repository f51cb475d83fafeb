/**
 * The metrics decorator: wraps any NotificationSink without changing its behaviour, and
 * counts every publish by sink, topic and outcome, times it to acknowledgement, and feeds
 * the readiness and queue-depth gauges (read at scrape time). Outcomes (`success`, `failure`,
 * `dropped`, `skipped`) are decided in src/core/sinks/outcome.ts, which the shutdown log uses too.
 */
import type { Registry } from "prom-client";
import type { Notification, NotificationSink, Receipt } from "../../core/sinks/contract.js";
import {
  noOutcomes,
  type OutcomeCounts,
  PUBLISH_OUTCOMES,
  type PublishOutcome,
  rejectedOutcome,
  resolvedOutcome,
} from "../../core/sinks/outcome.js";
import { reportSourceOf, type StatusReceiver } from "../../core/sinks/status-reports.js";
import { type Collectors, createInstruments, type Instruments } from "./instruments.js";

export interface SinkDecorator {
  wrap(sink: NotificationSink): NotificationSink;
  /** The sinks wrapped so far, for the gauges' scrape-time collection. */
  readonly sinks: Map<string, NotificationSink>;
}

/** The label children of one topic of one wrapped sink, and how its outcomes are counted. */
interface Children {
  ack: ReturnType<Instruments["ackDuration"]["labels"]>;
  outcome: Record<PublishOutcome, ReturnType<Instruments["publishes"]["labels"]>>;
  /** Outcomes counted since the last flush into `outcome`. */
  unflushed: OutcomeCounts;
  /** The outcome of a delivered publish for this sink (resolvedOutcome). */
  delivered: PublishOutcome;
  /** The decorator's batched counting. */
  count: (children: Children, outcome: PublishOutcome) => void;
}

/**
 * One per notification until settled (no closure, no promise): times it, counts it, tells the
 * caller. One class for every decorator and sink, at module level: a class made per `wrap` gives
 * each wrapped sink (each test, each benchmark round) its own object shape, and past four the
 * code that makes and settles these turns megamorphic (a profile caught a constructor taking
 * 70 % of a round).
 */
class Metered implements Receipt {
  // Declared, not defined: class fields (ES2022) would define each one as undefined
  // before the constructor assigns it, a measurable cost in a burst of thousands.
  declare readonly outer: Receipt;
  declare readonly counted: Children;
  declare readonly start: number;
  constructor(outer: Receipt, counted: Children, start: number) {
    this.outer = outer;
    this.counted = counted;
    this.start = start;
  }
  settled(error: unknown) {
    const counted = this.counted;
    if (error === undefined) {
      if (counted.delivered === "success") counted.ack.observe((performance.now() - this.start) / 1000);
      counted.count(counted, counted.delivered);
    } else counted.count(counted, rejectedOutcome(error));
    this.outer.settled(error);
  }
}

export function createSinkDecorator(m: Instruments, sinks = new Map<string, NotificationSink>()): SinkDecorator {
  /**
   * prom-client hashes the labels on every `inc`, even a child's. PUBACKs come several per
   * socket read, so outcomes are added up here and handed over once per microtask checkpoint:
   * before any scrape (a later task), and before the publish's own caller hears of it.
   */
  const unflushed = new Set<Children>();
  let flushScheduled = false;
  const flushCounts = () => {
    flushScheduled = false;
    for (const children of unflushed) {
      for (const outcome of PUBLISH_OUTCOMES) {
        const n = children.unflushed[outcome];
        if (n === 0) continue;
        children.outcome[outcome].inc(n);
        children.unflushed[outcome] = 0;
      }
    }
    unflushed.clear();
  };
  const count = (children: Children, outcome: PublishOutcome) => {
    children.unflushed[outcome]++;
    unflushed.add(children);
    if (flushScheduled) return;
    flushScheduled = true;
    queueMicrotask(flushCounts);
  };
  /**
   * Label children are looked up once per topic of a wrapped sink and reused: prom-client
   * otherwise hashes the label object on every call, which was half the decorator's cost.
   */
  const childrenOf = (sink: string, delivered: PublishOutcome) => {
    const children = new Map<string, Children>();
    return (topic: string): Children => {
      let found = children.get(topic);
      if (!found) {
        const outcome = (name: PublishOutcome) => m.publishes.labels({ sink, topic, outcome: name });
        found = {
          ack: m.ackDuration.labels({ sink, topic }),
          outcome: {
            success: outcome("success"),
            failure: outcome("failure"),
            dropped: outcome("dropped"),
            skipped: outcome("skipped"),
          },
          unflushed: noOutcomes(),
          delivered,
          count,
        };
        children.set(topic, found);
      }
      return found;
    };
  };

  return {
    sinks,
    wrap(sink) {
      sinks.set(sink.name, sink);
      const childrenFor = childrenOf(sink.name, resolvedOutcome(sink.name));
      // An optional capability passes through as it is: receiving is counted by its receiver, not here.
      const source = reportSourceOf(sink);
      const send = (notification: Notification, receipt: Receipt) => {
        const metered = new Metered(receipt, childrenFor(notification.topic), performance.now());
        if (sink.send) sink.send(notification, metered);
        else
          sink.publish(notification).then(
            () => metered.settled(undefined),
            (error: unknown) => metered.settled(error),
          );
      };
      return {
        ...(source ? { statusReports: (receive: StatusReceiver) => source.statusReports(receive) } : {}),
        name: sink.name,
        send,
        publish: (notification) =>
          new Promise<void>((resolve, reject) =>
            send(notification, { settled: (error) => (error === undefined ? resolve() : reject(error)) }),
          ),
        status: () => sink.status(),
        close: () => sink.close(),
      };
    },
  };
}

/** The readiness and queue-depth gauges, read from the wrapped sinks at scrape time. */
export const sinkGaugeCollectors = (sinks: Map<string, NotificationSink>): Collectors => ({
  sinkReady: (gauge) => {
    for (const [name, sink] of sinks) gauge.set({ sink: name }, sink.status().ready ? 1 : 0);
  },
  queueDepth: (gauge) => {
    for (const [name, sink] of sinks) gauge.set({ sink: name }, sink.status().queueDepth);
  },
});

/** The decorator alone, on its own registry (sink tests and benchmarks). */
export function createSinkMetrics(registry: Registry): SinkDecorator {
  const sinks = new Map<string, NotificationSink>();
  return createSinkDecorator(createInstruments(registry, sinkGaugeCollectors(sinks)), sinks);
}
