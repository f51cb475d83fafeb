/**
 * What the webhook sink's tests share: the secret their receivers check, a sink with the
 * test defaults (real fetch, real timers, a memory logger), one built through the registry,
 * numbered notifications, and a publish's outcome as a word.
 */
import { createMemoryLogger } from "../../src/core/logger.js";
import { type Notification, type NotificationSink, TOPICS } from "../../src/core/sinks/contract.js";
import type { RuntimeInfo, SinkPlugin } from "../../src/core/sinks/plugin.js";
import { SinkRegistry } from "../../src/core/sinks/registry.js";
import { createWebhookSink, type WebhookSinkOptions, webhookSinkPlugin } from "../../src/plugins/sinks/webhook.js";
import { NODE_RUNTIME } from "./sink-checks.js";
import type { WebhookReceiver } from "./webhook-receiver.js";

export const SECRET = "webhook-test-secret-0123456789";
export const PLUGIN = webhookSinkPlugin as unknown as SinkPlugin;
/** Short back-off, so retry tests take milliseconds; the real schedule is checked with an injected wait. */
export const FAST_RETRY = { minMs: 10, maxMs: 50 };

export const note = (i: number): Notification => ({ topic: TOPICS.configs, payload: { filename: `n-${i}.json` } });
export const filenames = (receiver: WebhookReceiver) =>
  receiver.delivered().map((n) => (n.payload as { filename: string }).filename);

export function webhookSink(url: string, overrides: Partial<WebhookSinkOptions> = {}): NotificationSink {
  return createWebhookSink({
    url: new URL(url),
    secret: SECRET,
    timeoutMs: 5000,
    queueLimit: 1000,
    maxAttempts: 0,
    logger: createMemoryLogger(),
    ...overrides,
  });
}

export const viaRegistry = async (url: string, env: Record<string, string>, runtime: RuntimeInfo = NODE_RUNTIME) =>
  (
    await new SinkRegistry([PLUGIN]).create({
      url: new URL(url),
      urlVariable: "NOTIFY_URL",
      env,
      logger: createMemoryLogger(),
      runtime,
    })
  ).sink;

/** "delivered", or the code the publish was rejected with. */
export const outcome = (publish: Promise<void>) =>
  publish.then(
    () => "delivered",
    (error: { code?: string }) => error.code ?? String(error),
  );
