/**
 * Receiving, as an optional capability of a sink: a sink whose transport can also carry
 * messages from devices (MQTT: `iotsupport/status/<mac>`) declares `statusReports`, and the
 * runtime hands it a receiver once the app is built. The sink contract itself
 * (contract.ts) stays publish-only; a sink without this method simply receives nothing.
 *
 * The sink passes each message on as it came: the device it names and its raw bytes. Every
 * check (a valid MAC, the size, the report's fields), counting and logging is the
 * receiver's (features/fleet/status-receiver.ts), written once for every sink.
 */
import type { NotificationSink } from "./contract.js";

/** A device's status message as the transport delivered it: unchecked, possibly hostile. */
export interface StatusMessage {
  /** The device the message names (MQTT: the last level of its topic), exactly as received. */
  device: string;
  /** The message body. */
  payload: Uint8Array;
}

/**
 * Handles one message: resolves once it is recorded or refused, and never rejects. A sink
 * may hold back further messages while many are unsettled (backpressure), but must not wait
 * for one before it acknowledges its own deliveries.
 */
export type StatusReceiver = (message: StatusMessage) => Promise<void>;

export interface ReportSource {
  /**
   * Starts passing status messages to `receive` (MQTT: subscribes, and again after every
   * reconnect). Called at most once, after the sink is built; nothing is received before.
   * Declared only by a sink configured to receive (MQTT: MQTT_STATUS_TOPICS=true).
   */
  statusReports(receive: StatusReceiver): void;
}

/** The capability, when the sink declares it. */
export function reportSourceOf(sink: NotificationSink): ReportSource | undefined {
  const candidate = sink as NotificationSink & Partial<ReportSource>;
  return typeof candidate.statusReports === "function" ? (candidate as ReportSource) : undefined;
}
