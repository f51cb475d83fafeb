/**
 * The authentication contract: what a request presents, what an authenticator answers,
 * and which scopes a policy protects. The core mounts the gates (gate.ts, hosts.ts) and
 * maps outcomes to HTTP; how tokens are checked (hashes, OIDC) is the auth plugin's
 * (src/plugins/auth), chosen by settings.
 */

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

export interface Presented {
  authorization?: string;
  /** Cloudflare Access puts its application token here, not in Authorization. */
  accessAssertion?: string;
  url: string;
}

/** One per protected scope. Never throws on what a client sends; every refusal is a bounded reason. */
export interface Authenticator {
  authenticate(presented: Presented): Promise<AuthOutcome>;
  /**
   * True when this Authorization header is known good at once, with no work or I/O (a token
   * accepted before); false means "ask authenticate", never "refused". For the fast path.
   */
  knownGood?(authorization: string | undefined): boolean;
}

/**
 * What a device read needs: `open` nothing (the original), `fleet` one of the fleet's tokens,
 * `device` the device's own token (features/devices), which reads only its own config.
 */
export type DeviceAuthMode = "open" | "fleet" | "device";

/** Who may call what; an empty policy is the original's anonymous behaviour. */
export interface AuthPolicy {
  admin?: Authenticator;
  metrics?: Authenticator;
  /** The fleet's shared tokens: all device reads in `fleet` mode; still accepted in `device` mode, for the move. */
  devices?: Authenticator;
  /** Unset: `fleet` when `devices` is set, else `open`. */
  deviceMode?: DeviceAuthMode;
  /** Host names this server answers for (421 for others); unset: any. */
  allowedHosts?: string[];
}
