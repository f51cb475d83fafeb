/**
 * prom-client implementation of the OperationObserver: the metric names, labels and
 * meanings of the original service, so existing dashboards keep working, plus HTTP
 * request metrics labelled by route *pattern* (never a MAC or a filename).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { AUTH_FAILURE_REASONS } from "../../core/auth/outcome.js";
import type { OperationObserver } from "../../core/observer.js";

const SIZE_BUCKETS = [
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
const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const UPLOAD_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export function createOperationMetrics(registry: Registry): OperationObserver {
  const registers = [registry];
  const configOps = new Counter({
    name: "iot_config_operations_total",
    help: "Configuration operations by operation and outcome",
    labelNames: ["operation", "status"] as const,
    registers,
  });
  const configDuration = new Histogram({
    name: "iot_config_operation_duration_seconds",
    help: "Duration of configuration operations",
    labelNames: ["operation"] as const,
    buckets: FAST_BUCKETS,
    registers,
  });
  const configFiles = new Gauge({
    name: "iot_config_files_count",
    help: "Number of stored device configuration files",
    registers,
  });
  const uploads = new Counter({
    name: "iot_asset_upload_requests_total",
    help: "Asset upload requests by outcome and error type",
    labelNames: ["status", "error_type"] as const,
    registers,
  });
  const uploadDuration = new Histogram({
    name: "iot_asset_upload_duration_seconds",
    help: "Duration of asset upload requests",
    labelNames: ["status"] as const,
    buckets: UPLOAD_BUCKETS,
    registers,
  });
  const uploadSize = new Histogram({
    name: "iot_asset_upload_file_size_bytes",
    help: "Size of successfully uploaded assets",
    buckets: SIZE_BUCKETS,
    registers,
  });
  const signature = new Histogram({
    name: "iot_asset_upload_signature_verification_duration_seconds",
    help: "Duration of upload signature verification by result",
    labelNames: ["result"] as const,
    buckets: FAST_BUCKETS,
    registers,
  });
  const httpRequests = new Counter({
    name: "iot_http_requests_total",
    help: "HTTP requests by method, route pattern and status code",
    labelNames: ["method", "route", "status"] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: "iot_http_request_duration_seconds",
    help: "HTTP request duration by method and route pattern",
    labelNames: ["method", "route"] as const,
    buckets: FAST_BUCKETS,
    registers,
  });

  const authFailures = new Counter({
    name: "iot_auth_failures_total",
    help: "Requests refused by authentication, by reason (missing, malformed, expired, bad_signature, …)",
    labelNames: ["reason"] as const,
    registers,
  });
  // Every reason starts at 0, so a dashboard's rate() sees the series before the first failure.
  for (const reason of AUTH_FAILURE_REASONS) authFailures.labels({ reason });

  return {
    authFailure(reason) {
      authFailures.inc({ reason });
    },
    configOperation(operation, status, seconds) {
      configOps.inc({ operation, status });
      configDuration.observe({ operation }, seconds);
    },
    configFilesChanged(delta) {
      configFiles.inc(delta);
    },
    configFilesCounted(count) {
      configFiles.set(count);
    },
    assetUpload(status, errorType, seconds, sizeBytes) {
      uploads.inc({ status, error_type: errorType });
      uploadDuration.observe({ status }, seconds);
      if (sizeBytes !== undefined) uploadSize.observe(sizeBytes);
    },
    signatureVerified(result, seconds) {
      signature.observe({ result }, seconds);
    },
    httpRequest(method, route, status, seconds) {
      httpRequests.inc({ method, route, status: String(status) });
      httpDuration.observe({ method, route }, seconds);
    },
  };
}

/** Renders a registry for GET /metrics (the `metrics` dependency of the app). */
export const exposition = (registry: Registry) => async () => ({
  contentType: registry.contentType,
  body: await registry.metrics(),
});
