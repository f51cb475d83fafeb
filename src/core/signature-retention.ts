/**
 * How long a used upload signature must be remembered, in one place: the upload gives each
 * marker its own expiry from it, the settings bound the tolerance with it, and the storage
 * drivers keep markers that do not say their expiry (written before markers carried one)
 * for the longest retention any server could have asked for.
 */

/** The largest TIMESTAMP_TOLERANCE_SECONDS the settings accept (a year). */
export const MAX_TIMESTAMP_TOLERANCE_SECONDS = 31_536_000;

/**
 * A timestamp accepted at server time S is valid until at most S + 2 × tolerance (it may lie
 * a tolerance ahead of S); a minute more covers clock differences between servers.
 */
export const signatureRetainSeconds = (toleranceSeconds: number): number => 2 * toleranceSeconds + 60;

/** The retention of a marker whose writer did not record it: the longest any server could have used. */
export const LONGEST_SIGNATURE_RETAIN_SECONDS = signatureRetainSeconds(MAX_TIMESTAMP_TOLERANCE_SECONDS);
