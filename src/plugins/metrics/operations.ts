/**
 * The OperationObserver over prom-client: what the routes report (config operations,
 * uploads, signatures, HTTP requests, authentication refusals, rollouts) into the
 * instruments of the metrics table.
 */
import { AUTH_FAILURE_REASONS } from "../../core/auth/contract.js";
import type { OperationObserver } from "../../core/observer.js";
import { DEVICE_SYNC, REPORT_STATES } from "../../features/fleet/contract.js";
import { DEVICE_OUTCOMES, ROLLOUT_STATES } from "../../features/rollouts/contract.js";
import type { Instruments } from "./instruments.js";

export function createOperationObserver(m: Instruments): OperationObserver {
  // Every reason starts at 0, so a dashboard's rate() sees the series before the first failure.
  for (const reason of AUTH_FAILURE_REASONS) m.authFailures.inc({ reason }, 0);
  for (const state of [...REPORT_STATES, "invalid"]) m.statusReports.inc({ state }, 0);
  for (const kind of ["fetches", "reports"]) m.deviceRecordWrites.inc({ kind }, 0);
  for (const sync of DEVICE_SYNC) m.devices.set({ sync }, 0);
  for (const state of ROLLOUT_STATES) m.rollouts.set({ state }, 0);
  for (const outcome of DEVICE_OUTCOMES) m.rolloutDeviceOutcomes.inc({ outcome }, 0);
  return {
    authFailure(reason) {
      m.authFailures.inc({ reason });
    },
    deviceReadLimited() {
      m.deviceReadsLimited.inc();
    },
    deviceStatusReport(state) {
      m.statusReports.inc({ state });
    },
    deviceRecordWrite(kind) {
      m.deviceRecordWrites.inc({ kind });
    },
    devicesCounted(counts) {
      for (const sync of DEVICE_SYNC) m.devices.set({ sync }, counts[sync]);
    },
    rolloutsCounted(counts) {
      for (const state of ROLLOUT_STATES) m.rollouts.set({ state }, counts[state]);
    },
    rolloutDeviceOutcomes(outcome, devices) {
      // A decision with no device of this outcome adds nothing; a negative count would be a bug, never a decrement.
      if (devices > 0) m.rolloutDeviceOutcomes.inc({ outcome }, devices);
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
      // Every request is counted: bounded children (methods are the parser's, routes are patterns).
      m.http.child(method, route, status).observe(seconds);
    },
  };
}
