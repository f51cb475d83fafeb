/**
 * Notifications on Workers without the notification hub (worker-hub.ts, used when
 * NOTIFY_HUB is bound), and the request scopes both modes use (`track`). An isolate may
 * not keep an I/O object (a WebSocket) from one request for another, so in this mode there
 * is no persistent broker connection: each request that publishes gets its own MQTT
 * connection, opened on its first publish and closed once its publishes settle, inside
 * that request's `waitUntil`, i.e. after the response has been sent.
 *
 * The app is built once per isolate with one sink. That sink finds the current request
 * through AsyncLocalStorage (nodejs_compat) and forwards to the request's own sink.
 * Nothing is queued across requests: a notification not acknowledged within
 * `settleTimeoutMs` (MQTT_FLUSH_TIMEOUT_MS) after the response is abandoned, logged
 * and counted as a failure, since the request's `waitUntil` is all the time there is.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { errorFields, type Logger } from "../core/logger.js";
import { type NotificationSink, SinkError } from "../core/sinks/contract.js";

/** The part of a Worker's ExecutionContext used here. */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

interface Scope {
  ctx: WaitUntil;
  ended: boolean;
  /** Run in the request's `waitUntil` once its response is ready. */
  cleanups: Array<() => Promise<void>>;
}

export interface PerRequestSinkOptions {
  name: string;
  /** Opens one request's sink (for MQTT: a connection), on the request's first publish. */
  open(): Promise<NotificationSink>;
  logger: Logger;
  /** After the response, how long the request's publishes may take before its sink is closed. */
  settleTimeoutMs: number;
}

export interface RequestScopes {
  /** Handles one request in its own scope; its sinks are closed in `waitUntil` once their publishes settle. */
  run(ctx: WaitUntil, handle: () => Promise<Response>): Promise<Response>;
  /** The notifier's `track` option: hands each publish to the current request's `waitUntil`. */
  track(settled: Promise<void>): void;
  /** An isolate-wide sink that forwards each publish to a sink of the current request's own. */
  perRequestSink(options: PerRequestSinkOptions): NotificationSink;
}

export function createRequestScopes(): RequestScopes {
  const storage = new AsyncLocalStorage<Scope>();
  return {
    async run(ctx, handle) {
      const scope: Scope = { ctx, ended: false, cleanups: [] };
      try {
        return await storage.run(scope, handle);
      } finally {
        // Routes publish before they return the response, so every cleanup is registered by now.
        scope.ended = true;
        if (scope.cleanups.length > 0) ctx.waitUntil(Promise.all(scope.cleanups.map((cleanup) => cleanup())));
      }
    },
    track(settled) {
      storage.getStore()?.ctx.waitUntil(settled);
    },
    perRequestSink(options) {
      return perRequestSink(() => storage.getStore(), options);
    },
  };
}

interface RequestSink {
  sink: Promise<NotificationSink>;
  pending: Set<Promise<void>>;
}

function perRequestSink(current: () => Scope | undefined, options: PerRequestSinkOptions): NotificationSink {
  const { name, logger, settleTimeoutMs } = options;
  const byScope = new WeakMap<Scope, RequestSink>();
  const active = new Set<RequestSink>();
  let closed = false;
  // Health's readiness: whether the latest publish in this isolate was acknowledged.
  let lastDelivered = true;

  const settle = async (request: RequestSink) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), settleTimeoutMs);
    });
    const outcome = await Promise.race([Promise.allSettled([...request.pending]), deadline]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      logger.warn("notifications not acknowledged in time after the response; abandoning them", {
        sink: name,
        pending: request.pending.size,
        timeout_ms: settleTimeoutMs,
      });
    }
    // Rejects whatever is still unacknowledged with SINK_CLOSED: logged and counted by the notifier and metrics.
    await (await request.sink).close();
    active.delete(request);
  };

  const sinkOf = (scope: Scope): RequestSink => {
    let request = byScope.get(scope);
    if (!request) {
      const created: RequestSink = { sink: options.open(), pending: new Set() };
      byScope.set(scope, created);
      active.add(created);
      scope.cleanups.push(() =>
        settle(created).catch((error: unknown) => logger.warn("could not close a request's sink", errorFields(error))),
      );
      request = created;
    }
    return request;
  };

  return {
    name,
    publish(notification) {
      if (closed) return Promise.reject(new SinkError("SINK_CLOSED", `${name} sink is closed`));
      const scope = current();
      if (!scope) {
        return Promise.reject(
          new SinkError("SINK_UNAVAILABLE", "no request in progress: on Workers a notification is sent by its request"),
        );
      }
      if (scope.ended) {
        return Promise.reject(new SinkError("SINK_CLOSED", "the request has already answered; its sink is closing"));
      }
      const request = sinkOf(scope);
      const published = request.sink
        .then((sink) => sink.publish(notification))
        .then(
          () => {
            lastDelivered = true;
          },
          (error: unknown) => {
            lastDelivered = false;
            throw error;
          },
        );
      // Tracks settlement only; the outcome is the caller's (the notifier logs it, the metrics count it).
      const settled: Promise<void> = published
        .then(
          () => undefined,
          () => undefined,
        )
        .finally(() => request.pending.delete(settled));
      request.pending.add(settled);
      return published;
    },
    status() {
      let queueDepth = 0;
      for (const request of active) queueDepth += request.pending.size;
      return { ready: !closed && lastDelivered, queueDepth };
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...active].map(async (request) => (await request.sink).close()));
    },
  };
}
