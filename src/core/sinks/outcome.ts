/**
 * How a settled publish is counted: one vocabulary for the metrics (the `outcome` label of
 * iot_notifications_published_total) and the shutdown log, so their numbers can be compared.
 *
 * - `success`: the far end acknowledged it (MQTT PUBACK, webhook 2xx, a line written);
 * - `skipped`: accepted by the no-op sink, which delivers nowhere (no NOTIFY_URL);
 * - `dropped`: pushed out of a full queue by newer notifications (SINK_DROPPED);
 * - `failure`: anything else: refused, timed out, unavailable, or the sink closed first.
 */
import { isSinkError } from "./contract.js";

export const PUBLISH_OUTCOMES = ["success", "failure", "dropped", "skipped"] as const;

export type PublishOutcome = (typeof PUBLISH_OUTCOMES)[number];

export type OutcomeCounts = Record<PublishOutcome, number>;

/** The name of the sink used when no NOTIFY_URL is set: what it accepts is skipped, never delivered. */
export const NOOP_SINK_NAME = "noop";

/** The outcome of a publish that resolved, for the sink of that name. */
export const resolvedOutcome = (sinkName: string): "success" | "skipped" =>
  sinkName === NOOP_SINK_NAME ? "skipped" : "success";

/** The outcome of a publish that rejected with `error`, decided by its code, never by its message. */
export const rejectedOutcome = (error: unknown): "failure" | "dropped" =>
  isSinkError(error) && error.code === "SINK_DROPPED" ? "dropped" : "failure";

export const noOutcomes = (): OutcomeCounts => ({ success: 0, failure: 0, dropped: 0, skipped: 0 });
