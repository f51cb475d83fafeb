/**
 * Typed errors. Every error the server raises on purpose carries a stable `code`
 * and the HTTP status it maps to; `toErrorBody` is the one place that turns an
 * error into SPEC's error shape. Errors are recognised by a marker property, not by
 * `instanceof` (which breaks across duplicated package copies) or message text.
 */

export type ErrorCode =
  | "VALIDATION_FAILED"
  | "INVALID_OPERATION"
  | "RECORD_NOT_FOUND"
  | "RECORD_EXISTS"
  | "PAYLOAD_TOO_LARGE"
  | "ROUTE_NOT_FOUND"
  | "STORAGE_UNAVAILABLE"
  | "INTERNAL_ERROR";

const STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  INVALID_OPERATION: 400,
  RECORD_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  RECORD_EXISTS: 409,
  PAYLOAD_TOO_LARGE: 413,
  STORAGE_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
};

const MARKER = Symbol.for("iot-support.AppError");

export interface AppErrorOptions {
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly [MARKER] = true;
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = STATUS[code];
    this.details = options.details ?? {};
  }
}

export function isAppError(value: unknown): value is AppError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
}

export const validationFailed = (message: string, details?: Record<string, unknown>) =>
  new AppError("VALIDATION_FAILED", message, { details });
export const invalidOperation = (message: string, details?: Record<string, unknown>) =>
  new AppError("INVALID_OPERATION", message, { details });
export const notFound = (message: string, details?: Record<string, unknown>) =>
  new AppError("RECORD_NOT_FOUND", message, { details });
export const recordExists = (message: string, details?: Record<string, unknown>) =>
  new AppError("RECORD_EXISTS", message, { details });
export const payloadTooLarge = (limit: number) =>
  new AppError("PAYLOAD_TOO_LARGE", `Request body exceeds the limit of ${limit} bytes`, {
    details: { max_bytes: limit },
  });

export interface ErrorBody {
  error: string;
  details: Record<string, unknown>;
  code: ErrorCode;
  status: number;
  correlationId: string;
}

export function toErrorBody(error: AppError, correlationId: string): ErrorBody {
  return {
    error: error.message,
    details: error.details,
    code: error.code,
    status: error.status,
    correlationId,
  };
}
