/**
 * The sink contract: what a notification is and what every sink plugin promises.
 *
 * - `publish` resolves only once the notification is delivered (MQTT: PUBACK; webhook:
 *   a 2xx answer) and otherwise rejects with a SinkError whose `code` says why;
 * - `status()` is cheap and synchronous (it feeds health and the metrics gauges);
 * - `close()` is idempotent and settles every publish still in flight: delivered, or
 *   rejected with SINK_CLOSED; afterwards `publish` rejects with SINK_CLOSED.
 */

export const TOPICS = {
  configs: "iotsupport/updates/configs",
  assets: "iotsupport/updates/assets",
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

/** What a device may check before and after fetching: describes the stored bytes. */
export interface NotificationMetadata {
  /** SHA-256 of the stored bytes, lower-case hex. */
  sha256?: string;
  /** Size of the stored bytes. */
  size?: number;
  /** The ETag a device read answers with (the quoted SHA-256). */
  etag?: string;
}

export interface Notification {
  topic: Topic;
  /** Exactly what the contract says devices receive: `{"filename": ...}`. */
  payload: { filename: string };
  /** Optional facts a sink may carry if its transport can (MQTT 5 user properties, webhook JSON); others ignore them. */
  metadata?: NotificationMetadata;
}

export type SinkErrorCode =
  | "SINK_UNAVAILABLE" // no connection and no room to wait
  | "SINK_TIMEOUT" // no acknowledgement in time
  | "SINK_REJECTED" // the far end refused the message
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

/** Recognised by a marker, not `instanceof`, so a plugin built against another copy of this file still counts. */
export function isSinkError(value: unknown): value is SinkError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[SINK_ERROR] === true;
}

export interface SinkStatus {
  ready: boolean;
  queueDepth: number;
}

/** How a delivery ended, told once: `undefined` when delivered, else what `publish` would reject with. */
export interface Receipt {
  /** May run before `send` returns or inside the transport's callback: never call back into the sink from it. */
  settled(error: unknown): void;
}

export interface NotificationSink {
  /** Short, stable name used in logs, health and metric labels (e.g. "mqtt"). */
  readonly name: string;
  publish(notification: Notification): Promise<void>;
  /** Optional: `publish` told to a receipt (a burst queued in the sink holds no promise or closure each). */
  send?(notification: Notification, receipt: Receipt): void;
  status(): SinkStatus;
  close(): Promise<void>;
}
