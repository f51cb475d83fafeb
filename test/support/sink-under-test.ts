/**
 * What a sink's test hands the conformance kit (test/support/sink-conformance.ts), and the
 * small helpers the kit's checks share: numbered notifications, watched publishes, and
 * waits for "every publish settled" and "the far end has these, in this order".
 */
import { expect } from "vitest";
import {
  isSinkError,
  type Notification,
  type NotificationSink,
  TOPICS,
  type Topic,
} from "../../src/core/sinks/contract.js";
import type { SinkPlugin } from "../../src/core/sinks/plugin.js";
import { waitUntil } from "./wait.js";

/** A far end that has stopped answering: what the sink sends still reaches it, no acknowledgement goes back. */
export interface Stalled {
  /** Notifications that reached the far end since the stall began and wait for its answer (polled). */
  arrived(): Promise<number>;
  /** Answers again from now on. */
  resume(): Promise<void>;
}

/** The link between the sink and its far end (e.g. a TCP proxy in between), which the kit can cut. */
export interface Link {
  /** Breaks open connections and refuses new ones: the far end looks gone. */
  drop(): Promise<void>;
  restore(): Promise<void>;
}

export interface SinkUnderTest {
  sink: NotificationSink;
  /** What the far end has received so far, in arrival order, when the sink can be observed (e.g. a subscriber); polled. */
  received?(): Promise<Array<{ topic: string; payload: unknown }>>;
  /** A variant of the sink whose far end refuses every notification, and the code its publish rejects with. */
  refusing?(): Promise<{ sink: NotificationSink; code: string; cleanup(): Promise<void> }>;
  /** Makes the far end stop answering while still receiving, so publishes stay in flight. */
  stall?(): Promise<Stalled>;
  /** The link `sink` (and any `bounded` sink) reaches the far end through. */
  link?: Link;
  /** A sink like `sink`, through the same link to the same far end, that holds at most `limit` notifications. */
  bounded?(limit: number): Promise<{ sink: NotificationSink; cleanup(): Promise<void> }>;
  /** The plugin this sink comes from, with a URL and environment that reach the same far end. */
  registry?: {
    plugin: SinkPlugin;
    url: string;
    env: Record<string, string>;
    /** Whether the sink built from them delivers where `received()` looks. */
    observed: boolean;
    /** An environment the plugin must refuse, and the variable the one-line error must name. */
    invalid?: { env: Record<string, string>; variable: string };
  };
  cleanup(): Promise<void>;
}

/** What a sink may offer the kit; one it cannot have goes in `lacks` with the reason. */
export type SinkCapability = "refusing" | "stall" | "link" | "queueLimit" | "registry" | "invalidSettings";

export interface CheckContext {
  /** How long a publish may take to settle, or the far end to receive, before the check fails. */
  deadlineMs: number;
}

/** Generous: a refused, closed or re-sent publish settles in well under a second on an idle machine. */
export const DEFAULT_CONTEXT: CheckContext = { deadlineMs: 15_000 };

/** Notification `i`: a config on the configs topic, or a firmware file on the assets topic. */
export const note = (i: number, topic: Topic = TOPICS.configs): Notification => ({
  topic,
  payload: { filename: topic === TOPICS.configs ? `00-00-00-00-00-${String(i).padStart(2, "0")}.json` : `fw-${i}.bin` },
});

/** Notifications `from` … `from + n - 1`, alternating between the two topics (order is checked per topic). */
export const batch = (from: number, n: number): Notification[] =>
  Array.from({ length: n }, (_, k) => note(from + k, k % 2 === 0 ? TOPICS.configs : TOPICS.assets));

export function need<T>(capability: SinkCapability, value: T | undefined): T {
  if (value === undefined) {
    throw new Error(`the sink under test offers no "${capability}": provide it, or give the reason in \`lacks\``);
  }
  return value;
}

/** A publish watched: its outcome once settled ("delivered", a SinkError's code, or "untyped: …"), readable synchronously. */
export interface Watched {
  outcome?: string;
}

export function watch(publish: Promise<void>): Watched {
  const watched: Watched = {};
  publish.then(
    () => {
      watched.outcome = "delivered";
    },
    (error: unknown) => {
      watched.outcome = isSinkError(error) ? error.code : `untyped: ${String(error)}`;
    },
  );
  return watched;
}

export const outcomes = (publishes: Watched[]) => publishes.map((p) => p.outcome);

/** Waits until every watched publish has settled, naming how many are still pending if they do not. */
export async function settled(publishes: Watched[], what: string, { deadlineMs }: CheckContext): Promise<string[]> {
  const pending = () => publishes.filter((p) => p.outcome === undefined).length;
  await waitUntil(what, () => pending() === 0, deadlineMs).catch((error: Error) => {
    throw new Error(`${error.message}; ${pending()} of ${publishes.length} publishes still pending`);
  });
  return publishes.map((p) => p.outcome as string);
}

/** A first publish, delivered: the sink is connected (or whatever "ready" means for it) and idle afterwards. */
export async function becomeReady(sink: NotificationSink, context: CheckContext): Promise<void> {
  const [outcome] = await settled([watch(sink.publish(note(0)))], "a first publish to be delivered", context);
  expect(outcome, "a first publish, with the far end reachable").toBe("delivered");
}

const key = (n: { topic: string; payload: unknown }) => JSON.stringify([n.topic, n.payload]);

/**
 * Waits until the far end has every one of `notes` (a delivered message may still be on its
 * way to an observer); with `ordered`, also checks that on each topic they first arrived in
 * the order published (a re-sent duplicate may come later: delivery is at least once).
 */
export async function receivedAll(
  sut: SinkUnderTest,
  notes: Notification[],
  { deadlineMs }: CheckContext,
  ordered = false,
): Promise<void> {
  const received = sut.received;
  if (!received) throw new Error("this check needs received(): the far end must be observable");
  const wanted = new Set(notes.map(key));
  let seen: string[] = [];
  const missing = () => notes.filter((n) => !seen.includes(key(n))).map((n) => n.payload.filename);
  await waitUntil(
    "the far end to receive every notification",
    async () => {
      seen = [...new Set((await received()).map(key).filter((k) => wanted.has(k)))];
      return seen.length === wanted.size;
    },
    deadlineMs,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; missing: ${missing().join(", ")}`);
  });
  if (!ordered) return;
  for (const topic of Object.values(TOPICS)) {
    const sent = notes.filter((n) => n.topic === topic).map((n) => n.payload.filename);
    const arrived = seen.map((k) => JSON.parse(k) as [string, { filename: string }]).filter(([t]) => t === topic);
    expect(
      arrived.map(([, payload]) => payload.filename),
      `the order in which they first reached the far end on ${topic}`,
    ).toEqual(sent);
  }
}
