/**
 * Update notifications: what a sink is, how sinks are found from `MQTT_URL`, and
 * the notifier the routes call after a successful save or upload.
 *
 * Contract of a sink (every plugin, MQTT or not):
 * - `publish` resolves only once the notification is delivered (for MQTT: PUBACK),
 *   and otherwise rejects with a SinkError whose `code` says why;
 * - `status()` is cheap and synchronous (it feeds health and metrics gauges);
 * - `close()` is idempotent; after it, `publish` rejects with SINK_CLOSED.
 */
import type { Logger } from "./logger.js";
import { errorFields } from "./logger.js";

export const TOPICS = {
  configs: "iotsupport/updates/configs",
  assets: "iotsupport/updates/assets",
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

export interface Notification {
  topic: Topic;
  payload: { filename: string };
}

export type SinkErrorCode =
  | "SINK_UNAVAILABLE" // no connection and no room to wait
  | "SINK_TIMEOUT" // no acknowledgement in time
  | "SINK_REJECTED" // the broker refused the message
  | "SINK_CLOSED" // the sink was closed before delivery
  | "SINK_DROPPED"; // pushed out of a full queue by newer notifications

const SINK_ERROR = Symbol.for("iot-support.SinkError");

export class SinkError extends Error {
  readonly [SINK_ERROR] = true;
  constructor(
    readonly code: SinkErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = "SinkError";
  }
}

export function isSinkError(value: unknown): value is SinkError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[SINK_ERROR] === true;
}

export interface SinkStatus {
  ready: boolean;
  queueDepth: number;
}

export interface NotificationSink {
  /** Short, stable name used in logs, health and metric labels (e.g. "mqtt"). */
  readonly name: string;
  publish(notification: Notification): Promise<void>;
  status(): SinkStatus;
  close(): Promise<void>;
}

/** Settings a sink plugin may read; secrets stay inside the plugin. */
export interface SinkOptions {
  username?: string;
  password?: string;
  clientId?: string;
  protocolVersion: 4 | 5;
  queueLimit: number;
  flushTimeoutMs: number;
  /** Seconds between keep-alive pings; a silent broker is detected after about 1.5× this. */
  keepaliveSeconds: number;
  /** How long to wait for a PUBACK before the connection is deemed dead and recycled. */
  ackTimeoutMs: number;
  /** Most unacknowledged publishes at once (further capped by the broker's Receive Maximum). */
  maxInflight: number;
  /** Extra CA certificate(s) in PEM to trust on mqtts/wss (self-signed or private CA brokers). */
  ca?: string;
  /** Skip TLS certificate verification (home labs only; logged as a warning). */
  tlsInsecure: boolean;
  /** Runtime restrictions, e.g. Workers cannot open raw TCP sockets. */
  runtime?: { allowTcp: boolean; name: string };
}

export interface SinkContext {
  logger: Logger;
  options: SinkOptions;
}

export interface SinkPlugin {
  name: string;
  /** URL schemes without the colon, e.g. ["mqtt", "ws"]. Empty string: MQTT_URL unset. */
  schemes: string[];
  create(url: URL | undefined, context: SinkContext): NotificationSink;
}

export class SinkConfigError extends Error {
  readonly code = "INVALID_SINK_URL";
  readonly variable = "MQTT_URL";
}

/** Scheme → plugin. A value passed in, never a module global, so tests build their own. */
export class SinkRegistry {
  readonly #plugins = new Map<string, SinkPlugin>();

  register(plugin: SinkPlugin): this {
    for (const scheme of plugin.schemes) {
      const existing = this.#plugins.get(scheme);
      if (existing) throw new Error(`scheme "${scheme}" is already registered by sink "${existing.name}"`);
      this.#plugins.set(scheme, plugin);
    }
    return this;
  }

  schemes(): string[] {
    return [...this.#plugins.keys()].filter(Boolean).sort();
  }

  /** Builds the sink for a URL; an unknown scheme is an error listing the known ones, never a fallback. */
  create(url: URL | undefined, context: SinkContext): NotificationSink {
    const scheme = url ? url.protocol.replace(/:$/, "") : "";
    const plugin = this.#plugins.get(scheme);
    if (!plugin) {
      throw new SinkConfigError(
        `Invalid setting MQTT_URL: unknown scheme "${scheme}:"; known schemes: ${this.schemes()
          .map((s) => `${s}:`)
          .join(", ")} (or leave it unset for no notifications)`,
      );
    }
    return plugin.create(url, context);
  }
}

export interface FlushResult {
  delivered: number;
  failed: number;
  abandoned: number;
}

export interface Notifier {
  configSaved(mac: string): void;
  assetUploaded(filename: string): void;
  /** Notifications handed to the sink and not yet settled. */
  pending(): number;
  /** Waits for every pending notification, at most `timeoutMs`. */
  flush(timeoutMs: number): Promise<FlushResult>;
}

export interface NotifierOptions {
  sink: NotificationSink;
  logger: Logger;
  /** Called with each in-flight publish; Workers pass `ctx.waitUntil` here. */
  track?: (settled: Promise<void>) => void;
}

/**
 * Fire and forget, but never forgotten: the caller returns at once, while each
 * publish stays in a pending set until the sink settles it, so shutdown can wait.
 */
export function createNotifier({ sink, logger, track }: NotifierOptions): Notifier {
  const inFlight = new Set<Promise<void>>();
  const counts = { delivered: 0, failed: 0 };

  const send = (notification: Notification) => {
    // One reaction per publish (no .finally): this runs for every save, at broker speed.
    const settled: Promise<void> = sink.publish(notification).then(
      () => {
        inFlight.delete(settled);
        counts.delivered++;
      },
      (error: unknown) => {
        inFlight.delete(settled);
        counts.failed++;
        // Logged here once; the metrics decorator counts it.
        logger.warn("notification not delivered", {
          sink: sink.name,
          topic: notification.topic,
          filename: notification.payload.filename,
          code: isSinkError(error) ? error.code : "UNKNOWN",
          ...errorFields(error),
        });
      },
    );
    inFlight.add(settled);
    track?.(settled);
  };

  return {
    configSaved(mac) {
      send({ topic: TOPICS.configs, payload: { filename: `${mac}.json` } });
    },
    assetUploaded(filename) {
      send({ topic: TOPICS.assets, payload: { filename } });
    },
    pending: () => inFlight.size,
    async flush(timeoutMs) {
      const before = { ...counts };
      const waiting = [...inFlight];
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([Promise.allSettled(waiting), deadline]);
      clearTimeout(timer);
      return {
        delivered: counts.delivered - before.delivered,
        failed: counts.failed - before.failed,
        abandoned: waiting.filter((p) => inFlight.has(p)).length,
      };
    },
  };
}
