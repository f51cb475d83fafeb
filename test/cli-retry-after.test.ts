/** Retry-After as iot-upload reads it (src/cli/retry-after.ts): both forms, every HTTP-date form, the cap. */
import { describe, expect, it } from "vitest";
import { MAX_RETRY_AFTER_SECONDS, parseRetryAfter } from "../src/cli/retry-after.js";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

describe("parseRetryAfter", () => {
  it.each<[string, string | null, { seconds: number; capped: boolean } | undefined]>([
    ["absent", null, undefined],
    ["delay-seconds", "7", { seconds: 7, capped: false }],
    ["the cap itself", String(MAX_RETRY_AFTER_SECONDS), { seconds: 300, capped: false }],
    ["past the cap", "301", { seconds: 300, capped: true }],
    ["beyond any number", "9".repeat(400), { seconds: 300, capped: true }],
    ["IMF-fixdate 10 s ahead", "Thu, 01 Jan 2026 12:00:10 GMT", { seconds: 10, capped: false }],
    ["RFC 850 date 20 s ahead", "Thursday, 01-Jan-26 12:00:20 GMT", { seconds: 20, capped: false }],
    ["asctime date 30 s ahead", "Thu Jan  1 12:00:30 2026", { seconds: 30, capped: false }],
    ["a date in the past: retry now", "Wed, 31 Dec 2025 12:00:00 GMT", { seconds: 0, capped: false }],
    ["a date a year ahead", "Fri, 01 Jan 2027 12:00:00 GMT", { seconds: 300, capped: true }],
    ["a negative number", "-1", undefined],
    ["a fraction", "1.5", undefined],
    ["words", "soon", undefined],
    ["a date that does not exist", "Tue, 31 Feb 2026 12:00:00 GMT", undefined],
    ["an hour that does not exist", "Thu, 01 Jan 2026 25:00:00 GMT", undefined],
    ["a date in another time zone", "Thu, 01 Jan 2026 12:00:10 +0100", undefined],
  ])("%s (%s)", (_, header, expected) => {
    expect(parseRetryAfter(header, NOW)).toEqual(expected);
  });
});
