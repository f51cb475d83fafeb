/**
 * Sinks with deliberate bugs, the subjects of the conformance kit's own tests
 * (test/sink-conformance-kit.test.ts). They are in-process fakes on purpose: here the sink is
 * what is under test, and the kit is what must notice. Nothing else uses them.
 *
 * A small far end (think of a Redis server: it takes a message, stores it, acknowledges it)
 * that can stall (it reads messages but neither stores nor answers them until resumed) and
 * whose link can drop (open connections break, new ones are refused; what a stalled far end
 * held unanswered on a broken connection is lost, as a server loses an unexecuted command).
 * The sink written against it is correct by default: a bounded queue, a window of messages
 * in flight, in-flight messages re-sent first after a reconnect, close() settling everything
 * it holds. Each flag plants
 * one bug a plugin author made while writing a Redis sink.
 */
import { type Notification, type NotificationSink, SinkError } from "../../src/core/sinks/contract.js";
import type { SinkUnderTest } from "./sink-under-test.js";

export interface Bugs {
  /** close() settles the queued publishes but forgets those already sent. */
  closeForgetsInFlight?: boolean;
  /** Resolves a publish once written to the connection, before the far end acknowledges it. */
  resolvesOnSend?: boolean;
  /** Forgets what was in flight when the connection broke (never re-sent, never settled). */
  forgetsInFlightOnDrop?: boolean;
  /** Re-sends what was in flight behind the queue, not in front of it: order is lost. */
  resendsBehindQueue?: boolean;
  /** Never connects again once the connection broke. */
  neverReconnects?: boolean;
  /** When the queue is full, refuses the newest publish instead of dropping the oldest. */
  dropsNewest?: boolean;
}

interface Connection {
  alive: boolean;
  send(notification: Notification, ack: () => void): void;
  onBreak(listener: () => void): void;
  close(): void;
}

/** The far end: what it stored, in order; whether it answers; whether it can be reached. */
class FakeFarEnd {
  readonly stored: Notification[] = [];
  arrivedSinceStall = 0;
  #stalled: Array<() => void> | undefined;
  #up = true;
  #connections = new Set<{ connection: Connection; breakListeners: Array<() => void> }>();

  connect(): Connection | undefined {
    if (!this.#up) return undefined;
    const breakListeners: Array<() => void> = [];
    const connection: Connection = {
      alive: true,
      send: (notification, ack) => {
        // A tick on the wire, then the far end stores and answers, unless it is stalled.
        setTimeout(() => {
          if (!connection.alive) return;
          const process = () => {
            if (!connection.alive) return;
            this.stored.push(notification);
            ack();
          };
          if (this.#stalled) {
            this.arrivedSinceStall++;
            this.#stalled.push(process);
          } else process();
        }, 1);
      },
      onBreak: (listener) => breakListeners.push(listener),
      close: () => {
        connection.alive = false;
      },
    };
    this.#connections.add({ connection, breakListeners });
    return connection;
  }

  stall(): void {
    this.#stalled = [];
    this.arrivedSinceStall = 0;
  }

  resume(): void {
    const held = this.#stalled ?? [];
    this.#stalled = undefined;
    for (const process of held) process();
  }

  drop(): void {
    this.#up = false;
    for (const { connection, breakListeners } of this.#connections) {
      if (!connection.alive) continue;
      connection.alive = false;
      for (const listener of breakListeners) listener();
    }
    this.#connections.clear();
  }

  restore(): void {
    this.#up = true;
  }
}

interface Item {
  notification: Notification;
  resolve(): void;
  reject(error: SinkError): void;
}

const RECONNECT_MS = 10;
const HANDSHAKE_MS = 5;
/** Messages sent ahead of their acknowledgements (a pipelining window, as MQTT's and Redis clients' have). */
const WINDOW = 4;

function createSink(farEnd: FakeFarEnd, limit: number, bugs: Bugs): NotificationSink {
  let queue: Item[] = [];
  let inFlight: Item[] = [];
  let connection: Connection | undefined;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;

  const bound = () => {
    while (queue.length > limit) {
      const item = (bugs.dropsNewest ? queue.pop() : queue.shift()) as Item;
      item.reject(new SinkError("SINK_DROPPED", "queue full"));
    }
  };

  const pump = () => {
    while (connection && queue.length > 0 && inFlight.length < WINDOW) {
      const item = queue.shift() as Item;
      inFlight.push(item);
      connection.send(item.notification, () => {
        if (!inFlight.includes(item)) return;
        inFlight = inFlight.filter((i) => i !== item);
        item.resolve();
        pump();
      });
      if (bugs.resolvesOnSend) item.resolve();
    }
  };

  const connect = () => {
    retry = undefined;
    if (closed) return;
    const opened = farEnd.connect();
    if (!opened) {
      retry = setTimeout(connect, RECONNECT_MS);
      return;
    }
    opened.onBreak(() => {
      clearTimeout(handshake);
      connection = undefined;
      const back = inFlight;
      inFlight = [];
      if (!bugs.forgetsInFlightOnDrop) queue = bugs.resendsBehindQueue ? [...queue, ...back] : [...back, ...queue];
      bound();
      if (!bugs.neverReconnects) retry = setTimeout(connect, RECONNECT_MS);
    });
    // Usable after a handshake, as a real client's connection is: until then publishes wait in the queue.
    const handshake = setTimeout(() => {
      if (closed || !opened.alive) return;
      connection = opened;
      pump();
    }, HANDSHAKE_MS);
  };
  connect();

  return {
    name: "broken",
    publish(notification) {
      if (closed) return Promise.reject(new SinkError("SINK_CLOSED", "closed"));
      return new Promise<void>((resolve, reject) => {
        queue.push({ notification, resolve, reject });
        bound();
        pump();
      });
    },
    status: () => ({ ready: !closed && connection !== undefined, queueDepth: queue.length + inFlight.length }),
    async close() {
      closed = true;
      clearTimeout(retry);
      const abandoned = bugs.closeForgetsInFlight ? queue : [...inFlight, ...queue];
      if (!bugs.closeForgetsInFlight) inFlight = [];
      queue = [];
      for (const item of abandoned) item.reject(new SinkError("SINK_CLOSED", "closed before delivery"));
      connection?.close();
      connection = undefined;
    },
  };
}

/** A sink under test for the kit: the fake far end with every capability but the ones no fake can have. */
export function brokenUnderTest(bugs: Bugs = {}): () => Promise<SinkUnderTest> {
  return async () => {
    const farEnd = new FakeFarEnd();
    return {
      sink: createSink(farEnd, 1000, bugs),
      received: async () => farEnd.stored.map(({ topic, payload }) => ({ topic, payload })),
      async stall() {
        farEnd.stall();
        return { arrived: async () => farEnd.arrivedSinceStall, resume: async () => farEnd.resume() };
      },
      link: { drop: async () => farEnd.drop(), restore: async () => farEnd.restore() },
      bounded: async (limit) => ({ sink: createSink(farEnd, limit, bugs), cleanup: async () => {} }),
      cleanup: async () => {},
    };
  };
}
