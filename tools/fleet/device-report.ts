/**
 * What a simulated device says once it has applied a config (SPEC "Devices" → "What
 * devices fetched and report"): `ok` with the ETag it applied and its firmware version,
 * sent over HTTP (PUT /files/status/<mac>.json) or MQTT (QoS 1 to iotsupport/status/<mac>),
 * or not at all. A device told to fail (tests of the fleet view) reports `failed` with an
 * ETag it never held, as firmware that could not apply its config would: the server then
 * sees it behind, while the simulator saw it fetch. In rollout mode a chosen share of the
 * devices reports `failed` for the rollout's config only (rollout-plan.ts).
 */

export const REPORT_MODES = ["http", "mqtt", "none"] as const;
export type ReportMode = (typeof REPORT_MODES)[number];

/** Where a device publishes its report over MQTT (the server subscribes with MQTT_STATUS_TOPICS=true). */
export const STATUS_TOPIC = "iotsupport/status";

/** The ETag a failing device claims to run: one no config ever has (ours are quoted SHA-256 hex). */
export const NEVER_APPLIED_ETAG = '"sim-never-applied"';

export interface ReportEvent {
  /** The ETag the report names (the config the device applied). */
  etag: string;
  startedAt: number;
  doneAt: number;
  /** 204 over HTTP, PUBACK over MQTT. */
  ok: boolean;
}

/**
 * `failure`: "never-applied" (tests of the fleet view) claims an ETag no config has;
 * "rollout" (--fail-share) names the rollout's config the device could not apply, as
 * firmware reports a config or image that boot-loops.
 */
export function reportBody(etag: string, firmwareVersion: string, failure?: "never-applied" | "rollout"): Buffer {
  const body =
    failure === undefined
      ? { state: "ok", config_etag: etag, firmware_version: firmwareVersion }
      : {
          state: "failed",
          config_etag: failure === "rollout" ? etag : NEVER_APPLIED_ETAG,
          firmware_version: firmwareVersion,
          message: failure === "rollout" ? "simulated: the rollout's config failed" : "simulated: could not apply",
        };
  return Buffer.from(JSON.stringify(body));
}
