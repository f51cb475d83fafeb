/**
 * The OperationObserver over prom-client: what the routes report (config operations,
 * uploads, signatures, HTTP requests, authentication refusals) into the instruments of
 * the metrics table.
 */
import { AUTH_FAILURE_REASONS } from "../../core/auth/outcome.js";
import type { OperationObserver } from "../../core/observer.js";
import type { Instruments } from "./instruments.js";

export function createOperationObserver(m: Instruments): OperationObserver {
  // Every reason starts at 0, so a dashboard's rate() sees the series before the first failure.
  for (const reason of AUTH_FAILURE_REASONS) m.authFailures.labels({ reason });
  return {
    authFailure(reason) {
      m.authFailures.inc({ reason });
    },
    configOperation(operation, status, seconds) {
      m.configOperations.inc({ operation, status });
      m.configDuration.observe({ operation }, seconds);
    },
    configFilesChanged(delta) {
      m.configFiles.inc(delta);
    },
    configFilesCounted(count) {
      m.configFiles.set(count);
    },
    assetUpload(status, errorType, seconds, sizeBytes) {
      m.uploads.inc({ status, error_type: errorType });
      m.uploadDuration.observe({ status }, seconds);
      if (sizeBytes !== undefined) m.uploadSize.observe(sizeBytes);
    },
    signatureVerified(result, seconds) {
      m.signature.observe({ result }, seconds);
    },
    httpRequest(method, route, status, seconds) {
      m.httpRequests.inc({ method, route, status: String(status) });
      m.httpDuration.observe({ method, route }, seconds);
    },
  };
}
