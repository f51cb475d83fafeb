/**
 * The webhook sink through the conformance kit (test/support/sink-conformance.ts), bare and
 * wrapped by the metrics decorator, against a real HTTP receiver on loopback
 * (test/support/webhook-receiver.ts) reached through a TCP proxy the kit can cut.
 */
import { Registry } from "prom-client";
import type { NotificationSink } from "../src/core/sinks/contract.js";
import { createSinkMetrics } from "../src/plugins/metrics/sink-metrics.js";
import { type SinkUnderTest, testSink } from "./support/sink-conformance.js";
import { startTcpProxy } from "./support/tcp-proxy.js";
import { startWebhookReceiver } from "./support/webhook-receiver.js";
import { PLUGIN, SECRET, viaRegistry, webhookSink } from "./support/webhook-sink.js";

function webhookUnderTest(wrap: boolean) {
  const wrapped = (sink: NotificationSink) => (wrap ? createSinkMetrics(new Registry()).wrap(sink) : sink);
  return async (): Promise<SinkUnderTest> => {
    const receiver = await startWebhookReceiver({ secret: SECRET });
    // The sink reaches the receiver through a proxy the kit can cut; the receiver itself stalls.
    const link = await startTcpProxy(Number(new URL(receiver.origin).port), "http");
    const viaLink = (queueLimit: number) => wrapped(webhookSink(`${link.url}/hook`, { queueLimit }));
    return {
      sink: viaLink(1000),
      received: async () => receiver.delivered().map(({ topic, payload }) => ({ topic, payload })),
      async refusing() {
        const refuser = await startWebhookReceiver({ secret: SECRET });
        refuser.refuse(403);
        const sink = await viaRegistry(refuser.url, { WEBHOOK_SECRET: SECRET, WEBHOOK_MAX_ATTEMPTS: "2" });
        return { sink: wrapped(sink), code: "SINK_REJECTED", cleanup: () => refuser.close() };
      },
      async stall() {
        const from = receiver.requests.length;
        const resume = receiver.stall();
        const held = () => receiver.requests.slice(from).filter((r) => r.status === undefined).length;
        return { arrived: async () => held(), resume };
      },
      link: { drop: async () => link.setBlocked(true), restore: async () => link.setBlocked(false) },
      bounded: async (limit) => ({ sink: viaLink(limit), cleanup: async () => {} }),
      registry: {
        plugin: PLUGIN,
        url: receiver.url,
        env: { WEBHOOK_SECRET: SECRET },
        observed: true,
        invalid: { env: {}, variable: "WEBHOOK_SECRET" },
      },
      cleanup: async () => {
        await link.close();
        await receiver.close();
      },
    };
  };
}

testSink({ name: "webhook", create: webhookUnderTest(false) });
testSink({ name: "webhook + metrics", create: webhookUnderTest(true) });
