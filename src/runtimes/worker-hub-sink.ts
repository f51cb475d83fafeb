/**
 * The Worker's side of the notification hub (worker-hub.ts): an isolate-wide sink that
 * hands each notification to the one hub object by RPC. The hub acknowledges once the
 * notification is stored in its queue; delivery to the broker, retries, order and the sink
 * metrics are the hub's. So here a publish is settled by a durable hand-off, not by a
 * PUBACK. The notifier passes each publish to the request's `waitUntil` (the `track` of
 * worker-sink.ts), so the response never waits for the hop.
 */
import { errorFields, type Logger } from "../core/logger.js";
import { type Notification, type NotificationSink, SinkError } from "../core/sinks/contract.js";

/** The hub's RPC methods, as a stub offers them. */
export interface HubRpc {
  /** Resolves once the notification is persisted in the hub's queue. */
  enqueue(notification: Notification): Promise<void>;
  /** The sink families of the hub's metrics registry, in the Prometheus text format. */
  metricsText(): Promise<string>;
  /** Starts the hub if it is not running (it receives status reports from then on, when set to). */
  wake(): Promise<void>;
}

/** The part of the NOTIFY_HUB binding (a Durable Object namespace) used here. */
export interface HubNamespace {
  getByName(name: string): HubRpc;
}

/** One hub per Worker: one ordered queue keeps the order of saves, per MAC and overall. */
export const HUB_NAME = "hub";

/** Hand-offs the runtime marks as safe to retry (the object was reset, or moved) are tried this often. */
const ATTEMPTS = 3;
const RETRY_BASE_MS = 100;

/** workerd marks transient Durable Object errors `retryable`; `overloaded` ones only get worse if retried. */
const retryable = (error: unknown) => {
  const flags = error as { retryable?: unknown; overloaded?: unknown } | null;
  return flags?.retryable === true && flags.overloaded !== true;
};

export interface HubSinkOptions {
  /** The plugin's name ("mqtt", "webhook"): the same `sink` in health as on other runtimes. */
  name: string;
  hubs: HubNamespace;
  logger: Logger;
}

export function createHubSink({ name, hubs, logger }: HubSinkOptions): NotificationSink {
  let closed = false;
  let handingOff = 0;
  // Health's readiness: whether this isolate's latest hand-off reached the hub.
  let lastHandedOff = true;

  const handOff = async (notification: Notification) => {
    for (let attempt = 1; ; attempt++) {
      try {
        // A fresh stub each time: a stub belongs to the request that made it (workerd refuses it in
        // another: "Cannot perform I/O on behalf of a different request"), and one that threw stays broken.
        await hubs.getByName(HUB_NAME).enqueue(notification);
        return;
      } catch (error) {
        if (attempt < ATTEMPTS && retryable(error)) {
          logger.debug("notification hub hand-off failed; retrying", { sink: name, attempt, ...errorFields(error) });
          await new Promise((resolve) => setTimeout(resolve, RETRY_BASE_MS * 2 ** (attempt - 1)));
          continue;
        }
        const why = error instanceof Error ? error.message : String(error);
        throw new SinkError("SINK_UNAVAILABLE", `the notification hub did not take the notification: ${why}`, {
          cause: error,
        });
      }
    }
  };

  return {
    name,
    publish(notification) {
      if (closed) return Promise.reject(new SinkError("SINK_CLOSED", `${name} sink is closed`));
      handingOff++;
      return handOff(notification).then(
        () => {
          handingOff--;
          lastHandedOff = true;
        },
        (error: unknown) => {
          handingOff--;
          lastHandedOff = false;
          throw error;
        },
      );
    },
    status: () => ({ ready: !closed && lastHandedOff, queueDepth: handingOff }),
    async close() {
      // Nothing to release: the connection and the queue belong to the hub, which outlives us.
      closed = true;
    },
  };
}
