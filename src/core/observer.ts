/**
 * What the routes report about their work. The core knows only this interface;
 * the metrics plugin implements it with prom-client, and tests or runtimes without
 * metrics pass `silentObserver`.
 */
import type { DeviceSync, ReportState } from "../features/fleet/contract.js";
import type { DeviceOutcome, RolloutState } from "../features/rollouts/contract.js";
import type { AuthFailureReason } from "./auth/contract.js";

export type ConfigOperation = "list" | "get" | "save" | "delete";
export type OperationStatus = "success" | "error";
/** Bounded by design: decided from the error's type, never from message text. */
export type UploadErrorType = "filename" | "timestamp" | "signature" | "validation" | "filesystem" | "unknown" | "none";
export type SignatureResult = "valid" | "invalid" | "error";

export interface OperationObserver {
  configOperation(operation: ConfigOperation, status: OperationStatus, seconds: number): void;
  /** The number of stored configs changed by `delta` (+1 created, -1 deleted). */
  configFilesChanged(delta: number): void;
  /** The number of stored configs is known exactly (after a listing or at boot). */
  configFilesCounted(count: number): void;
  assetUpload(status: OperationStatus, errorType: UploadErrorType, seconds: number, sizeBytes?: number): void;
  signatureVerified(result: SignatureResult, seconds: number): void;
  httpRequest(method: string, route: string, status: number, seconds: number): void;
  /** A request refused by authentication, by bounded reason (never the token). */
  authFailure(reason: AuthFailureReason): void;
  /** A device read refused for its address's misses (never the address itself). */
  deviceReadLimited(): void;
  /** A device's status report, over HTTP or MQTT, by its state; "invalid" for one refused (never the MAC). */
  deviceStatusReport(state: ReportState | "invalid"): void;
  /** A fleet record written to storage: a process's batch of fetches, or one report. */
  deviceRecordWrite(kind: "fetches" | "reports"): void;
  /** How many devices the fleet view counts in each sync state (taken at scrape time). */
  devicesCounted(counts: Record<DeviceSync, number>): void;
  /** How many rollouts are in each state (at scrape time), and devices whose outcome a decision counted. */
  rolloutsCounted(counts: Record<RolloutState, number>): void;
  rolloutDeviceOutcomes(outcome: DeviceOutcome, devices: number): void;
}

export const silentObserver: OperationObserver = {
  configOperation() {},
  configFilesChanged() {},
  configFilesCounted() {},
  assetUpload() {},
  signatureVerified() {},
  httpRequest() {},
  authFailure() {},
  deviceReadLimited() {},
  deviceStatusReport() {},
  deviceRecordWrite() {},
  devicesCounted() {},
  rolloutsCounted() {},
  rolloutDeviceOutcomes() {},
};

/** Seconds since `start` (a `performance.now()` reading). */
export const secondsSince = (start: number) => (performance.now() - start) / 1000;
