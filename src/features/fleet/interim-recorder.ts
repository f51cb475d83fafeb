/**
 * A FleetRecorder that only writes reports, standing in for the fleet records
 * (fleet-records.ts, issue 19.1) until they are merged: each report is one state record,
 * namespace `device-reports`, key `<mac>.<ms>`, value `{"report", "at"}` — the layout the
 * fleet records read, so reports received through this one are seen by them. Fetches are
 * not its business (reads are recorded by the fleet records), so `fetched` does nothing.
 */
import { jsonBytes, type StateStore } from "../../core/state.js";
import type { DeviceReport, FleetRecorder } from "./contract.js";

export const REPORTS_NAMESPACE = "device-reports";

export function createInterimRecorder(state: StateStore, now: () => number = Date.now): FleetRecorder {
  return {
    fetched() {},
    async reported(mac: string, report: DeviceReport) {
      const at = now();
      await state.put(REPORTS_NAMESPACE, `${mac}.${at}`, jsonBytes({ report, at }));
    },
  };
}
