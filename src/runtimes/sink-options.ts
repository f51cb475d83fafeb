/** Settings → the options every sink plugin receives. Shared by all entry points (no filesystem access here). */
import type { SinkOptions } from "../core/notify.js";
import type { Settings } from "../core/settings.js";

export function sinkOptions(settings: Settings, runtime: SinkOptions["runtime"], ca?: string): SinkOptions {
  return {
    keepaliveSeconds: settings.mqttKeepaliveSeconds,
    ackTimeoutMs: settings.mqttAckTimeoutMs,
    maxInflight: settings.mqttMaxInflight,
    ca: ca ?? settings.mqttCa,
    tlsInsecure: settings.mqttTlsInsecure,
    username: settings.mqttUsername,
    password: settings.mqttPassword,
    clientId: settings.mqttClientId,
    protocolVersion: settings.mqttProtocolVersion,
    queueLimit: settings.mqttQueueLimit,
    flushTimeoutMs: settings.mqttFlushTimeoutMs,
    runtime,
  };
}
