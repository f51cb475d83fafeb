/**
 * A minimal structured logger interface. The core only depends on this shape;
 * runtimes pass in an implementation (JSON lines on stdout by default). Keeping it
 * tiny lets tests capture log lines and scan them for secrets.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /**
   * Whether a line at this level would be written. Lets a hot path (one debug line per
   * request) skip building fields nobody reads; a logger without it is assumed to want all.
   */
  enabled?(level: LogLevel): boolean;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Turns an unknown thrown value into loggable fields without stack traces of paths leaking to clients. */
export function errorFields(error: unknown): LogFields {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { err: error.message, ...(code !== undefined ? { errCode: String(code) } : {}) };
  }
  return { err: String(error) };
}

export interface JsonLoggerOptions {
  level?: LogLevel;
  write?: (line: string) => void;
  now?: () => Date;
}

/** One JSON object per line: easy to grep, easy to ship to a log pipeline. */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const threshold = ORDER[options.level ?? "info"];
  const write = options.write ?? ((line: string) => console.log(line));
  const now = options.now ?? (() => new Date());
  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    if (ORDER[level] < threshold) return;
    write(JSON.stringify({ time: now().toISOString(), level, msg: message, ...fields }));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    enabled: (level) => ORDER[level] >= threshold,
  };
}

/** Collects entries in memory; used by tests to assert on what was logged. */
export function createMemoryLogger(): Logger & { entries: Array<{ level: LogLevel; msg: string } & LogFields> } {
  const entries: Array<{ level: LogLevel; msg: string } & LogFields> = [];
  const push = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    entries.push({ level, msg, ...fields });
  };
  return { entries, debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") };
}
