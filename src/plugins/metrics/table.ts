/**
 * Every metric the server exposes, declared once, as data: name, help, labels, buckets.
 * The names, labels and meanings of the original service are kept, so existing
 * dashboards keep working. Labels are bounded by design: route patterns, never a MAC or
 * a filename; sink names, topics and outcomes from fixed lists.
 */

const FAST = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const UPLOAD = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const ACK = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SIZE = [
  1024,
  16 * 1024,
  256 * 1024,
  1024 ** 2,
  4 * 1024 ** 2,
  16 * 1024 ** 2,
  64 * 1024 ** 2,
  256 * 1024 ** 2,
  1024 ** 3,
];

export type MetricKind = "counter" | "gauge" | "histogram";

export interface MetricSpec {
  kind: MetricKind;
  name: string;
  help: string;
  labels: readonly string[];
  buckets?: readonly number[];
}

export const METRICS = {
  configOperations: {
    kind: "counter",
    name: "iot_config_operations_total",
    help: "Configuration operations by operation and outcome",
    labels: ["operation", "status"],
  },
  configDuration: {
    kind: "histogram",
    name: "iot_config_operation_duration_seconds",
    help: "Duration of configuration operations",
    labels: ["operation"],
    buckets: FAST,
  },
  configFiles: {
    kind: "gauge",
    name: "iot_config_files_count",
    help: "Number of stored device configuration files",
    labels: [],
  },
  uploads: {
    kind: "counter",
    name: "iot_asset_upload_requests_total",
    help: "Asset upload requests by outcome and error type",
    labels: ["status", "error_type"],
  },
  uploadDuration: {
    kind: "histogram",
    name: "iot_asset_upload_duration_seconds",
    help: "Duration of asset upload requests",
    labels: ["status"],
    buckets: UPLOAD,
  },
  uploadSize: {
    kind: "histogram",
    name: "iot_asset_upload_file_size_bytes",
    help: "Size of successfully uploaded assets",
    labels: [],
    buckets: SIZE,
  },
  signature: {
    kind: "histogram",
    name: "iot_asset_upload_signature_verification_duration_seconds",
    help: "Duration of upload signature verification by result",
    labels: ["result"],
    buckets: FAST,
  },
  httpRequests: {
    kind: "counter",
    name: "iot_http_requests_total",
    help: "HTTP requests by method, route pattern and status code",
    labels: ["method", "route", "status"],
  },
  httpDuration: {
    kind: "histogram",
    name: "iot_http_request_duration_seconds",
    help: "HTTP request duration by method and route pattern",
    labels: ["method", "route"],
    buckets: FAST,
  },
  authFailures: {
    kind: "counter",
    name: "iot_auth_failures_total",
    help: "Requests refused by authentication, by reason (missing, malformed, expired, bad_signature, …)",
    labels: ["reason"],
  },
  deviceReadsLimited: {
    kind: "counter",
    name: "iot_device_reads_limited_total",
    help: "Device reads refused (429) because their address missed more than DEVICE_READ_MISS_LIMIT times in a minute",
    labels: [],
  },
  statusReports: {
    kind: "counter",
    name: "iot_device_status_reports_total",
    help: "Device status reports (HTTP or MQTT) by reported state; invalid = refused, nothing recorded",
    labels: ["state"],
  },
  deviceRecordWrites: {
    kind: "counter",
    name: "iot_device_record_writes_total",
    help: "Fleet records written to storage: fetches = one process's batch of device reads, reports = one status report",
    labels: ["kind"],
  },
  devices: {
    kind: "gauge",
    name: "iot_devices",
    help: "Devices in the fleet view by sync state (unseen, current, behind); the three add up to the device count",
    labels: ["sync"],
  },
  rollouts: {
    kind: "gauge",
    name: "iot_rollouts",
    help: "Rollouts by state (running, paused, halted, completed, aborted, rolled_back), taken at each scrape",
    labels: ["state"],
  },
  rolloutDeviceOutcomes: {
    kind: "counter",
    name: "iot_rollout_device_outcomes_total",
    help: "Devices of rollouts by outcome (released, applied, failed, rolled_back, skipped), each counted once across processes",
    labels: ["outcome"],
  },
  publishes: {
    kind: "counter",
    name: "iot_notifications_published_total",
    help: "Notifications handed to a sink, by sink, topic and outcome (success = acknowledged; skipped = no sink configured)",
    labels: ["sink", "topic", "outcome"],
  },
  ackDuration: {
    kind: "histogram",
    name: "iot_notification_ack_duration_seconds",
    help: "Time from publish to acknowledgement by the sink (PUBACK for MQTT, a 2xx for a webhook)",
    labels: ["sink", "topic"],
    buckets: ACK,
  },
  sinkReady: {
    kind: "gauge",
    name: "iot_notification_sink_ready",
    help: "1 when the sink can deliver now (for MQTT: connected), else 0",
    labels: ["sink"],
  },
  queueDepth: {
    kind: "gauge",
    name: "iot_notification_queue_depth",
    help: "Notifications accepted by the sink and not yet acknowledged",
    labels: ["sink"],
  },
} as const satisfies Record<string, MetricSpec>;
