/**
 * Typed errors. Every error the server raises on purpose carries a stable `code`
 * and the HTTP status it maps to; `toErrorBody` is the one place that turns an
 * error into the API's error shape. Errors are recognised by a marker property, not by
 * `instanceof` (which breaks across duplicated package copies) or message text.
 */

const STATUS = {
  VALIDATION_FAILED: 400,
  INVALID_OPERATION: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RECORD_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  RECORD_EXISTS: 409,
  NAME_OCCUPIED: 409,
  PAYLOAD_TOO_LARGE: 413,
  EXPECTATION_FAILED: 417,
  MISDIRECTED_REQUEST: 421,
  TOO_MANY_REQUESTS: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL_ERROR: 500,
  STORAGE_UNAVAILABLE: 503,
  SERVER_BUSY: 503,
  AUTH_UNAVAILABLE: 503,
  SERVER_MISCONFIGURED: 503,
  STORAGE_FULL: 507,
} as const;

export type ErrorCode = keyof typeof STATUS;
/** Every code the API answers with; a code is never reused for another meaning. */
export const ERROR_CODES = Object.keys(STATUS) as [ErrorCode, ...ErrorCode[]];

/** The HTTP status of an error code. */
export const statusOf = (code: ErrorCode): number => STATUS[code];
/** Every status a code is answered with: its own, and 409 for INVALID_OPERATION too (conflict()). */
export const statusesOf = (code: ErrorCode): number[] => (code === "INVALID_OPERATION" ? [400, 409] : [STATUS[code]]);

const MARKER = Symbol.for("iot-support.AppError");

export interface AppErrorOptions {
  details?: Record<string, unknown>;
  cause?: unknown;
  /** Response headers that belong to the error, e.g. Retry-After on a 503. */
  headers?: Record<string, string>;
  /** Only conflict() sets it; the constructor keeps a code's own status for any other pairing. */
  status?: 409;
}

export class AppError extends Error {
  readonly [MARKER] = true;
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = code === "INVALID_OPERATION" && options.status === 409 ? 409 : STATUS[code];
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }
}

export function isAppError(value: unknown): value is AppError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
}

export const validationFailed = (message: string, details?: Record<string, unknown>) =>
  new AppError("VALIDATION_FAILED", message, { details });
export const invalidOperation = (message: string, details?: Record<string, unknown>) =>
  new AppError("INVALID_OPERATION", message, { details });
/** INVALID_OPERATION at 409, as SPEC answers a state conflict (rollouts): its 400's meaning, not a new one. */
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new AppError("INVALID_OPERATION", message, { details, status: 409 });
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
