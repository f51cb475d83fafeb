/**
 * The webhook sink (`http://`, `https://`): each notification is a signed JSON POST (see
 * webhook-request.ts and webhook-signature.ts), and a 2xx answer is delivery. Any other
 * status, a network error or no answer within the timeout is a failed attempt, retried
 * from a bounded queue with back-off (webhook-queue.ts); every retry carries the same
 * `X-IoT-Delivery` id, so a receiver can de-duplicate.
 *
 * One request in flight is enough: notifications come one per config or asset write, a
 * few per second at the very most, and a receiver answering in 100 ms still takes ten a
 * second. It also keeps them in order, which parallel requests would not.
 */
import { errorFields, type Logger } from "../../core/logger.js";
import type { NotificationSink } from "../../core/sinks/contract.js";
import { defineSink } from "../../core/sinks/define-sink.js";
import { defineSinkPlugin, SinkConfigError } from "../../core/sinks/plugin.js";
import { createDeliveryQueue, type Outcome } from "./webhook-queue.js";
import { baseHeaders, webhookBody, webhookTarget } from "./webhook-request.js";
import { WEBHOOK_SETTINGS } from "./webhook-settings.js";
import { createSigner, SIGNATURE_HEADER } from "./webhook-signature.js";

export const DELIVERY_HEADER = "X-IoT-Delivery";

export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

export interface WebhookSinkOptions {
  url: URL;
  secret: string;
  /** Per request. */
  timeoutMs: number;
  /** Most notifications held (queued and in flight); past it the oldest are dropped. */
  queueLimit: number;
  /** Attempts per notification before it is rejected; 0 retries until dropped or closed. */
  maxAttempts: number;
  logger: Logger;
  fetch?: FetchFn;
  /** Milliseconds since the epoch, for the signature's timestamp. */
  now?: () => number;
  /** The delivery id of a new notification. */
  newId?: () => string;
  /** In [0, 1), for the back-off's jitter. */
  random?: () => number;
  /** Waits between attempts; must return early once `signal` aborts (the sink is closing). */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
  retry?: { minMs: number; maxMs: number };
}

const RETRY = { minMs: 250, maxMs: 30_000 };

const timerWait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });

/** A network error's most useful words: undici says "fetch failed" and puts the errno in `cause`. */
const reasonOf = (error: unknown): string => {
  const { err, errCode } = errorFields(error) as { err: string; errCode?: string };
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return [err, errCode ?? (typeof cause === "string" ? cause : undefined)].filter(Boolean).join(": ");
};

export function createWebhookSink(options: WebhookSinkOptions): NotificationSink {
  const { logger, timeoutMs } = options;
  const fetchFn: FetchFn = options.fetch ?? ((url, init) => fetch(url, init));
  const now = options.now ?? Date.now;
  const newId = options.newId ?? (() => crypto.randomUUID());
  const target = webhookTarget(options.url);
  const headers = baseHeaders(target);
  const sign = createSigner(options.secret);

  const attempt = async ({ id, body }: { id: string; body: string }, signal: AbortSignal): Promise<Outcome> => {
    const controller = new AbortController();
    const abort = () => controller.abort();
    signal.addEventListener("abort", abort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      // A fresh timestamp and signature on each attempt, so a retry is as fresh as a first try.
      const signature = await sign(Math.floor(now() / 1000), body);
      const response = await fetchFn(target.url, {
        method: "POST",
        headers: { ...headers, [SIGNATURE_HEADER]: signature, [DELIVERY_HEADER]: id },
        body,
        signal: controller.signal,
        // A redirect is not delivery: following it would turn the POST into a GET.
        redirect: "manual",
      });
      // The answer's body is not used; cancelling it frees the connection.
      response.body?.cancel().catch((error: unknown) => logger.debug("webhook answer not drained", errorFields(error)));
      if (response.status >= 200 && response.status < 300) return { ok: true };
      return { ok: false, reason: `HTTP ${response.status}` };
    } catch (error) {
      return { ok: false, reason: timedOut ? `no answer within ${timeoutMs} ms` : reasonOf(error) };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", abort);
    }
  };

  let failing = false;
  let failedAttempts = 0;
  /** Logged once per outage: a warning at its first failure, "restored" at its end. */
  const observe = (outcome: Outcome) => {
    if (outcome.ok) {
      if (failing) logger.info("webhook delivery restored", { url: target.display, failed_attempts: failedAttempts });
      failing = false;
      failedAttempts = 0;
      return;
    }
    failedAttempts++;
    const fields = { url: target.display, reason: outcome.reason, queued: queue.held() };
    if (failing) logger.debug("webhook delivery failed again", fields);
    else logger.warn("webhook delivery failed; retrying with back-off", fields);
    failing = true;
  };

  const queue = createDeliveryQueue({
    attempt,
    observe,
    limit: options.queueLimit,
    maxAttempts: options.maxAttempts,
    retry: options.retry ?? RETRY,
    random: options.random ?? Math.random,
    wait: options.wait ?? timerWait,
  });

  return defineSink({
    name: "webhook",
    deliver: (notification) => queue.push({ id: newId(), body: webhookBody(notification) }),
    ready: () => !failing,
    queueDepth: queue.held,
    shutdown: queue.close,
  });
}

export const webhookSinkPlugin = defineSinkPlugin({
  name: "webhook",
  schemes: ["http", "https"],
  settings: WEBHOOK_SETTINGS,
  // fetch is on every runtime, but the queue and its retry timers outlive a request. On
  // Workers a request's I/O ends with it: a shared sink's next fetch, started from a finished
  // request's continuation, never settles and wedges the queue for the isolate (seen under
  // miniflare). So where nothing may outlive a request, the registry runs this per request.
  requires: () => [{ capability: "longLivedConnections" as const }],
  check({ url, urlVariable, settings }) {
    if (!url.hostname) throw new SinkConfigError(urlVariable, "no host (expected e.g. https://hooks.example.com/iot)");
    if (!settings.WEBHOOK_SECRET) {
      throw new SinkConfigError("WEBHOOK_SECRET", `required with an http(s):// ${urlVariable}: receivers check it`);
    }
  },
  create({ url, urlVariable, settings, logger }) {
    const secret = settings.WEBHOOK_SECRET;
    if (!secret) throw new SinkConfigError("WEBHOOK_SECRET", `required with an http(s):// ${urlVariable}`);
    if (url.protocol === "http:" && (url.username || url.password)) {
      logger.warn("webhook credentials go unencrypted over http://; use https://", { url: webhookTarget(url).display });
    }
    return createWebhookSink({
      url,
      secret,
      timeoutMs: settings.WEBHOOK_TIMEOUT_MS,
      queueLimit: settings.WEBHOOK_QUEUE_LIMIT,
      maxAttempts: settings.WEBHOOK_MAX_ATTEMPTS,
      logger,
    });
  },
});
