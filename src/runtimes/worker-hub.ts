/**
 * The notification hub: a Durable Object (bound as NOTIFY_HUB, see wrangler.toml) that
 * owns the Worker's one persistent connection to the broker and a queue that outlives
 * requests, isolates and restarts (worker-hub-queue.ts). Every isolate of the Worker hands
 * its notifications to the one object named "hub" (worker-hub-sink.ts), so order is kept
 * across concurrent requests, and the sink's counters are counted in one place.
 *
 * The sink is the same plugin, built by the same registry from the same settings as
 * anywhere else, on a runtime that can keep a connection (but still no raw TCP), and
 * wrapped by the same metrics decorator, on a registry of the object's own. With
 * MQTT_STATUS_TOPICS=true it also receives devices' status reports (worker-hub-reports.ts).
 */

import { DurableObject } from "cloudflare:workers";
import type { DurableObjectState } from "@cloudflare/workers-types/2023-07-01/index.js";
import { createJsonLogger, errorFields, type Logger } from "../core/logger.js";
import { loadSettings, redactSettings } from "../core/settings.js";
import type { Notification } from "../core/sinks/contract.js";
import type { RuntimeInfo } from "../core/sinks/plugin.js";
import { SinkRegistry } from "../core/sinks/registry.js";
import { createMetrics, type Metrics } from "../plugins/metrics/index.js";
import { SINK_PLUGINS } from "../plugins/sinks/index.js";
import { LEFT_OUT, RUNTIME, settingsEnv, type WorkerEnv } from "./worker-env.js";
import { type HubQueue, openHubQueue } from "./worker-hub-queue.js";
import { hubRecorder, keepReceiving, startHubReports } from "./worker-hub-reports.js";
import type { HubRpc } from "./worker-hub-sink.js";

/** A Durable Object keeps its WebSocket between requests; it still has no raw TCP sockets. */
const HUB_RUNTIME: RuntimeInfo = {
  name: `${RUNTIME} (notification hub)`,
  capabilities: new Set(["longLivedConnections"]),
  leftOut: LEFT_OUT,
};

interface Hub {
  queue: HubQueue;
  metrics: Metrics;
  /** Whether it receives status reports (and so keeps its alarm set). */
  receiving: boolean;
  logger: Logger;
}

async function openHub(storage: DurableObjectState["storage"], env: WorkerEnv): Promise<Hub> {
  const vars = settingsEnv(env);
  const settings = loadSettings(vars);
  const logger = createJsonLogger({ level: settings.logLevel });
  try {
    if (!settings.notifyUrl)
      throw new Error(`${settings.notifyUrlVariable} is not set: there is nothing to deliver to`);
    const { sink, plugin } = await new SinkRegistry(SINK_PLUGINS).create({
      url: settings.notifyUrl,
      urlVariable: settings.notifyUrlVariable,
      env: vars,
      logger,
      runtime: HUB_RUNTIME,
    });
    const metrics = createMetrics(undefined, { sink: "only" });
    const wrapped = metrics.wrapSink(sink);
    const queue = await openHubQueue({ storage, sink: wrapped, metrics, logger });
    // After the queue has read its alarm: the keep-alive must not pass for the queue's own, sooner one.
    const receiving = startHubReports({
      sink: wrapped,
      bucket: env.BUCKET,
      observer: metrics.observer,
      logger,
      recorder: hubRecorder,
    });
    if (receiving) await keepReceiving(storage, logger);
    logger.info("notification hub started", {
      sink: plugin.name,
      url: redactSettings(settings).notifyUrl,
      queued: queue.size(),
      status_reports: receiving,
    });
    return { queue, metrics, receiving, logger };
  } catch (error) {
    // Thrown on, the object is reset and the next call tries again; said here, once per attempt.
    logger.error("notification hub could not start", errorFields(error));
    throw error;
  }
}

export class NotificationHub extends DurableObject<WorkerEnv> implements HubRpc {
  #hub: Hub | undefined;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    // No call and no alarm runs before the stored queue is back with the sink: it goes first, in order.
    void ctx.blockConcurrencyWhile(async () => {
      this.#hub = await openHub(ctx.storage, env);
    });
  }

  #started(): Hub {
    // Unreachable: blockConcurrencyWhile holds every call until it is set, or resets the object.
    if (!this.#hub) throw new Error("the notification hub has not started");
    return this.#hub;
  }

  async enqueue(notification: Notification): Promise<void> {
    await this.#started().queue.enqueue(notification);
  }

  async metricsText(): Promise<string> {
    return (await this.#started().metrics.exposition()).body;
  }

  /** Called by an isolate on its first request: starting is all it takes (the constructor connects). */
  async wake(): Promise<void> {
    this.#started();
  }

  override async alarm(): Promise<void> {
    const hub = this.#started();
    await hub.queue.alarm();
    if (hub.receiving) await keepReceiving(this.ctx.storage, hub.logger);
  }
}
