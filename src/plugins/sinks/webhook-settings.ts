/**
 * The webhook sink's own settings, declared as data: validated here, documented from here
 * (the README's settings table is generated from this list), redacted where secret.
 */
import { z } from "zod";
import type { SettingsOf } from "../../core/setting-spec.js";
import { int } from "../../core/setting-types.js";

export const WEBHOOK_SECRET_MIN_LENGTH = 16;

export const WEBHOOK_SETTINGS = {
  WEBHOOK_SECRET: {
    // Optional here because every registered plugin's settings are validated whichever sink is
    // chosen; the plugin's `check` requires it once an http(s):// URL selects the webhook.
    schema: z
      .string()
      .min(WEBHOOK_SECRET_MIN_LENGTH, `must be at least ${WEBHOOK_SECRET_MIN_LENGTH} characters`)
      .optional(),
    description:
      'key of the HMAC-SHA256 in each webhook request\'s `X-IoT-Signature: t=<unix seconds>,v1=<hex HMAC of "<t>.<body>">` ' +
      `(at least ${WEBHOOK_SECRET_MIN_LENGTH} characters); required with an \`http://\`/\`https://\` URL`,
    secret: true,
  },
  WEBHOOK_TIMEOUT_MS: {
    schema: int(100, 300_000).default(5000),
    description: "a webhook request not answered in this time counts as a failed attempt and is retried",
    defaultText: "`5000`",
  },
  WEBHOOK_QUEUE_LIMIT: {
    schema: int(1).default(1000),
    description: "notifications held while the receiver fails; past it the oldest are dropped and counted",
    defaultText: "`1000`",
  },
  WEBHOOK_MAX_ATTEMPTS: {
    schema: int(0).default(0),
    description: "attempts per notification before it is given up as rejected; `0` retries until dropped",
    defaultText: "`0`",
  },
} as const;

export type WebhookSettings = SettingsOf<typeof WEBHOOK_SETTINGS>;
