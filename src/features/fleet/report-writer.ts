/**
 * A device's status report written durably (one record per report, `<mac>.<ms>`, before the
 * caller answers 204), and its older records deleted afterwards, in the background: a failure
 * there is logged, and the reader takes the newest record anyway.
 */
import { errorFields, type Logger } from "../../core/logger.js";
import type { OperationObserver } from "../../core/observer.js";
import type { StateStore } from "../../core/state.js";
import { encodeReport, REPORTS_NAMESPACE, type ReportRecord, reportKey } from "./record-format.js";
import type { Scanner } from "./record-scan.js";

export interface ReportWriterOptions {
  state: StateStore;
  logger: Logger;
  observer: Pick<OperationObserver, "deviceRecordWrite">;
  /** Knows every report time of a device, here and in others' records. */
  scanner: Pick<Scanner, "reportTimes" | "wroteReport" | "forgetReports">;
  /** Hands the background clean-up to the runtime that must wait for it (Workers: waitUntil). */
  track?: (settled: Promise<void>) => void;
}

export function createReportWriter(options: ReportWriterOptions): (mac: string, record: ReportRecord) => Promise<void> {
  const { state, logger, observer, scanner, track } = options;
  /** Per device, the time of the newest report this process has durably written. */
  const newestWritten = new Map<string, number>();
  /** Report keys whose write is under way here: not older records yet, whatever their time. */
  const writing = new Set<string>();
  /** Devices with a clean-up running, and those for which it must look once more. */
  const cleaning = new Set<string>();
  const again = new Set<string>();

  /** True when the record is gone, deleted now or already absent; false when it could not be deleted. */
  const removeReport = (mac: string, at: number) =>
    state.delete(REPORTS_NAMESPACE, reportKey(mac, at)).then(
      () => true,
      (error: unknown) => {
        logger.warn("could not delete an outdated fleet record", { ns: REPORTS_NAMESPACE, ...errorFields(error) });
        return false;
      },
    );

  /**
   * Deletes, in the background, the device's report records older than the newest one written
   * here. Never that one, even when a later report is known: the later one may still be being
   * written (or fail), and the record answered 204 must stay until a newer one is stored.
   * One clean-up per device at a time, looking again when reports were written meanwhile:
   * fifty reports at once used to start fifty clean-ups that each deleted every older record
   * again (about n²/2 deletes), filling the file-system threads and holding config saves past 2 s.
   */
  const cleanUp = (mac: string) => {
    if (cleaning.has(mac)) {
      again.add(mac);
      return;
    }
    cleaning.add(mac);
    const done = (async () => {
      try {
        do {
          again.delete(mac);
          const upTo = newestWritten.get(mac) ?? Number.NEGATIVE_INFINITY;
          const older = scanner.reportTimes(mac).filter((t) => t < upTo && !writing.has(reportKey(mac, t)));
          const gone: number[] = [];
          for (const t of older) if (await removeReport(mac, t)) gone.push(t);
          scanner.forgetReports(mac, gone);
        } while (again.has(mac));
      } finally {
        cleaning.delete(mac);
        again.delete(mac);
      }
    })();
    track?.(done);
  };

  const writeReport = async (mac: string, record: ReportRecord) => {
    const key = reportKey(mac, record.at);
    writing.add(key);
    try {
      await state.put(REPORTS_NAMESPACE, key, encodeReport(record));
    } catch (error) {
      scanner.forgetReports(mac, [record.at]);
      throw error;
    } finally {
      writing.delete(key);
    }
    observer.deviceRecordWrite("reports");
    scanner.wroteReport(mac, record.at);
    newestWritten.set(mac, Math.max(newestWritten.get(mac) ?? record.at, record.at));
    cleanUp(mac);
  };
  return writeReport;
}
