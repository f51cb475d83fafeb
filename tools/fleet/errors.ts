/**
 * The simulator's typed failures. `main` picks the exit status from the code, never
 * from the message: a usage error is the caller's to fix, a setup error (broker or
 * server would not start, key unreadable) is the machine's, an abort is Ctrl-C.
 */

export type FleetErrorCode = "USAGE" | "SETUP" | "ABORTED";

export class FleetError extends Error {
  readonly code: FleetErrorCode;

  constructor(code: FleetErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "FleetError";
    this.code = code;
  }
}

export const isFleetError = (error: unknown): error is FleetError =>
  error instanceof Error && (error as { name?: unknown }).name === "FleetError" && "code" in error;

/** Throws FleetError("ABORTED") when the run was cancelled (Ctrl-C), so every phase stops the same way. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new FleetError("ABORTED", "the run was interrupted");
}
