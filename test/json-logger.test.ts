/**
 * The JSON logger says which levels it writes (Logger.enabled), so the hot paths that log one
 * debug line per request (the app's request log, the cached-read fast path) skip building the
 * line when the level is off. Without it they built and dropped one entry per request.
 */
import { describe, expect, it } from "vitest";
import { createJsonLogger, type LogLevel } from "../src/core/logger.js";

describe("JSON logger levels", () => {
  it("answers enabled() by its threshold, and writes exactly the lines at or above it", () => {
    const lines: string[] = [];
    const logger = createJsonLogger({ level: "warn", write: (line) => lines.push(line) });
    const levels: LogLevel[] = ["debug", "info", "warn", "error"];
    expect(levels.map((level) => logger.enabled?.(level))).toEqual([false, false, true, true]);
    for (const level of levels) logger[level]("m");
    expect(lines.map((line) => (JSON.parse(line) as { level: string }).level)).toEqual(["warn", "error"]);
    expect(createJsonLogger({ level: "debug" }).enabled?.("debug")).toBe(true);
  });
});
