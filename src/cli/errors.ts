/**
 * The command's typed failures. Each kind maps to one exit status, so `main`
 * decides the status by the error's code, never by its message.
 */

export const EXIT = {
  OK: 0,
  /** The server answered with an HTTP error. */
  REFUSED: 1,
  /** Bad arguments, or a local file or key that cannot be used. */
  USAGE: 2,
  /** The server could not be reached, or the connection broke. */
  NETWORK: 3,
} as const;

export type CliErrorCode = "USAGE" | "LOCAL" | "REFUSED" | "NETWORK";

const EXIT_OF: Record<CliErrorCode, number> = {
  USAGE: EXIT.USAGE,
  LOCAL: EXIT.USAGE,
  REFUSED: EXIT.REFUSED,
  NETWORK: EXIT.NETWORK,
};

export interface CliErrorOptions {
  cause?: unknown;
  /** Further lines printed under the message (explanations, the correlation id). */
  notes?: string[];
  /** Set when the same request may succeed later (the server was busy). */
  retry?: RetryHint;
}

/** A busy server's hint: the wait it asked for (capped), if any. */
export interface RetryHint {
  afterSeconds?: number;
  /** The server asked for longer than the cap (see retry-after.ts). */
  capped?: boolean;
}

export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly notes: string[];
  readonly retry?: RetryHint;

  constructor(code: CliErrorCode, message: string, options: CliErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "CliError";
    this.code = code;
    this.notes = options.notes ?? [];
    this.retry = options.retry;
  }

  get exitCode(): number {
    return EXIT_OF[this.code];
  }
}

export const usageError = (message: string) => new CliError("USAGE", message);
export const localError = (message: string, cause?: unknown) => new CliError("LOCAL", message, { cause });

// `instanceof` is safe here: the command is one process with one copy of this module.
export function isCliError(value: unknown): value is CliError {
  return value instanceof CliError;
}

/** The `code` of a Node system error (ENOENT, ECONNREFUSED, ...), if it has one. */
export function systemCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** A file system error in words, for "cannot read <path>: ..." messages. */
export function describeFsError(error: unknown): string {
  const code = systemCode(error);
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "it is a directory";
  return error instanceof Error ? error.message : String(error);
}
