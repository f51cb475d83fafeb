/**
 * The one check of a device's status report, whichever way it came (HTTP body or MQTT
 * message): strict on the fields SPEC names, silent about others so that newer firmware
 * keeps working with this server. Text a device sends ends up in the admin's view, so
 * control characters are refused rather than stored.
 */
import { type DeviceReport, REPORT_STATES, type ReportState } from "./contract.js";

/** The largest report accepted, in bytes, before it is parsed (SPEC: over 4 KiB is 413). */
export const MAX_REPORT_BYTES = 4096;
export const MAX_FIRMWARE_VERSION_CHARS = 64;
export const MAX_MESSAGE_CHARS = 200;
/** An ETag is a quoted SHA-256 here; anything much longer is not one of ours. */
export const MAX_ETAG_CHARS = 130;

export type ReportCheck = { ok: true; report: DeviceReport } | { ok: false; field: string; message: string };

// C0 and C1 controls, and lone surrogates, which a JSON string may carry but no display wants.
const UNPRINTABLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const ETAG = /^"?[\x21\x23-\x7e]{1,128}"?$/;

const fail = (field: string, message: string): ReportCheck => ({ ok: false, field, message });

function text(value: unknown, field: string, max: number): string | ReportCheck {
  if (typeof value !== "string") return fail(field, `${field} must be a string`);
  if (value.length > max) return fail(field, `${field} must be at most ${max} characters`);
  if (UNPRINTABLE.test(value)) return fail(field, `${field} must not contain control characters`);
  return value;
}

/** Checks a parsed JSON value; the error names the first field at fault. */
export function checkReport(value: unknown): ReportCheck {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail("body", "A status report must be a JSON object");
  }
  const body = value as Record<string, unknown>;
  if (!REPORT_STATES.includes(body.state as ReportState)) {
    return fail("state", `state must be one of ${REPORT_STATES.join(", ")}`);
  }
  const report: DeviceReport = { state: body.state as ReportState };
  if (body.config_etag !== undefined) {
    const etag = text(body.config_etag, "config_etag", MAX_ETAG_CHARS);
    if (typeof etag !== "string") return etag;
    if (!ETAG.test(etag)) return fail("config_etag", 'config_etag must be an ETag as in the ETag header, e.g. "3a7b…"');
    // SPEC: a report may leave the quotes out; the view compares them as the header writes them.
    report.config_etag = `"${etag.replace(/^"|"$/g, "")}"`;
  }
  if (body.firmware_version !== undefined) {
    const version = text(body.firmware_version, "firmware_version", MAX_FIRMWARE_VERSION_CHARS);
    if (typeof version !== "string") return version;
    report.firmware_version = version;
  }
  if (body.message !== undefined) {
    const message = text(body.message, "message", MAX_MESSAGE_CHARS);
    if (typeof message !== "string") return message;
    report.message = message;
  }
  return { ok: true, report };
}

/** Parses and checks raw bytes (the caller has already refused more than MAX_REPORT_BYTES). */
export function parseReport(bytes: Uint8Array): ReportCheck {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    // Which byte was wrong is the device's business; the answer names the body.
    return fail("body", `A status report must be UTF-8 JSON (${(error as Error).name})`);
  }
  return checkReport(value);
}
