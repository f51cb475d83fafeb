/**
 * Why a boot failed, as a typed error every runtime understands: a process prints its
 * message and exits 1; a Worker, which has no process to stop, answers every request with
 * it (worker-unbooted.ts). The message is one line meant for the operator; it names the
 * variable and never holds a secret's value, so it may be logged and shown.
 */

/** Why the boot failed, for monitors and scripts; `variable` says which setting or binding. */
export const BOOT_FAILURE_CODES = [
  /** A required setting is not set (on Workers: SIGNING_KEY, or admin credentials). */
  "MISSING_SETTING",
  /** A setting's value is malformed, out of range, or contradicts another setting. */
  "INVALID_SETTING",
  /** A valid setting this runtime cannot honour (mqtt:// or a file path on Workers). */
  "UNSUPPORTED_SETTING",
  /** A binding the Worker needs (the R2 bucket, the docs' static assets) is not in wrangler.toml. */
  "MISSING_BINDING",
  /** Anything else: a bug, or a dependency failing at boot; only the log has the details. */
  "BOOT_FAILED",
] as const;

export type BootFailureCode = (typeof BOOT_FAILURE_CODES)[number];

export class BootError extends Error {
  constructor(
    message: string,
    readonly variable?: string,
    readonly code: BootFailureCode = "BOOT_FAILED",
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "BootError";
  }

  /** A setting at fault, in the words every other refused setting uses: "Invalid setting NAME: problem". */
  static setting(variable: string, problem: string, code: BootFailureCode): BootError {
    return new BootError(`Invalid setting ${variable}: ${problem}`, variable, code);
  }
}

/** The codes of the typed errors whose message is already a safe one-line explanation, and what they mean here. */
const KNOWN: Record<string, BootFailureCode> = {
  INVALID_SETTING: "INVALID_SETTING",
  INVALID_SINK_SETTING: "INVALID_SETTING",
  UNSUPPORTED_SINK: "UNSUPPORTED_SETTING",
  INVALID_SIGNING_KEY: "INVALID_SETTING",
};

/**
 * The BootError an error stands for, recognised by its `code` (never by its message), or
 * undefined for an unexpected error, whose message may hold anything and is not shown.
 */
export function asBootError(error: unknown): BootError | undefined {
  if (error instanceof BootError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const known = typeof code === "string" ? KNOWN[code] : undefined;
  if (!known) return undefined;
  const variable = (error as { variable?: unknown }).variable;
  return new BootError((error as Error).message, typeof variable === "string" ? variable : undefined, known, {
    cause: error,
  });
}
