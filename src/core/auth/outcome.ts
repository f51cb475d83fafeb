/** What an authentication attempt can end in; the reasons are the bounded label values of `iot_auth_failures_total`. */

export const AUTH_FAILURE_REASONS = [
  "missing",
  "malformed",
  "token_in_url",
  "unknown_token",
  "expired",
  "not_yet_valid",
  "bad_signature",
  "wrong_issuer",
  "wrong_audience",
  "wrong_type",
  "unknown_key",
  "forbidden",
  "unavailable",
] as const;

export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

export type AuthOutcome = { ok: true } | { ok: false; reason: AuthFailureReason; status: 401 | 403 | 503 };
