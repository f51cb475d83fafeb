import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { AUTH_FAILURE_REASONS } from "../src/core/auth/contract.js";
import { REPORT_STATES } from "../src/features/fleet/contract.js";
import { createInstruments } from "../src/plugins/metrics/instruments.js";
import { createOperationObserver } from "../src/plugins/metrics/operations.js";

describe("counters whose series a dashboard's rate() needs from boot", () => {
  it("exposes every auth failure reason and every status report state at 0 before the first event", async () => {
    const registry = new Registry();
    createOperationObserver(createInstruments(registry));
    const text = await registry.metrics();
    for (const reason of AUTH_FAILURE_REASONS) expect(text).toContain(`iot_auth_failures_total{reason="${reason}"} 0`);
    for (const state of [...REPORT_STATES, "invalid"]) {
      expect(text).toContain(`iot_device_status_reports_total{state="${state}"} 0`);
    }
  });
});
