/**
 * The lifecycle every sink repeats, written once: a closed flag, SINK_CLOSED for
 * publishes after close, readiness that is false once closed, an idempotent close. A
 * plugin supplies only what is its own: how to deliver, whether it can deliver now,
 * how much it holds, and how to shut down (settling whatever it still holds).
 */
import { type Notification, type NotificationSink, SinkError } from "./contract.js";
import type { ReportSource, StatusReceiver } from "./status-reports.js";

export interface SinkParts {
  name: string;
  /** Delivers one notification: resolves when delivered, rejects with a SinkError otherwise. */
  deliver(notification: Notification): Promise<void>;
  /** Whether a publish could be delivered now (for MQTT: connected). Defaults to always. */
  ready?(): boolean;
  /** Notifications accepted and not yet settled. Defaults to none. */
  queueDepth?(): number;
  /** Releases connections; must settle every pending delivery (delivered or SINK_CLOSED). */
  shutdown?(): Promise<void>;
  /** The optional receiving capability (status-reports.ts), passed through as it is. */
  statusReports?: ReportSource["statusReports"];
}

export function defineSink(parts: SinkParts): NotificationSink {
  let closed = false;
  let closing: Promise<void> | undefined;
  const receiving = parts.statusReports;
  return {
    ...(receiving ? { statusReports: (receive: StatusReceiver) => receiving(receive) } : {}),
    name: parts.name,
    publish(notification) {
      if (closed) return Promise.reject(new SinkError("SINK_CLOSED", `${parts.name} sink is closed`));
      try {
        return parts.deliver(notification);
      } catch (error) {
        // A plugin that throws instead of rejecting still keeps the contract.
        return Promise.reject(error);
      }
    },
    status: () => ({ ready: !closed && (parts.ready?.() ?? true), queueDepth: parts.queueDepth?.() ?? 0 }),
    close() {
      closed = true;
      closing ??= parts.shutdown?.() ?? Promise.resolve();
      return closing;
    },
  };
}
