import { describe, expect, it } from "vitest";
import { driftSeconds, type ParsedTimestamp, parseTimestamp } from "../src/features/assets/timestamp.js";

const parsed = (text: string): ParsedTimestamp => {
  const result = parseTimestamp(text);
  if (!result) throw new Error(`expected ${JSON.stringify(text)} to parse`);
  return result;
};
const millis = (text: string) => parsed(text).epochMicros / 1000;

describe("parseTimestamp offsets", () => {
  const noon = Date.UTC(2026, 0, 15, 12, 30, 45);

  it.each([
    ["2026-01-15T12:30:45Z", noon],
    ["2026-01-15T12:30:45z", noon],
    ["2026-01-15T12:30:45+00:00", noon],
    ["2026-01-15T12:30:45-00:00", noon],
    ["2026-01-15T14:30:45+02:00", noon],
    ["2026-01-15T14:30:45+0200", noon],
    ["2026-01-15T07:00:45-05:30", noon],
    ["2026-01-15T07:00:45-0530", noon],
    ["2026-01-16T00:15:45+11:45", noon],
    ["2026-01-14T13:30:45-23:00", noon],
  ])("%s", (text, expected) => {
    expect(millis(text)).toBe(expected);
    expect(parsed(text).utcIso).toBe("2026-01-15T12:30:45+00:00");
  });

  it("reads a timestamp without an offset as UTC, not local time", () => {
    // Date.parse would read this as local time; the epoch must equal Date.UTC whatever TZ the machine has.
    expect(millis("2026-07-01T09:08:07")).toBe(Date.UTC(2026, 6, 1, 9, 8, 7));
    expect(millis("2026-12-31T23:59:59")).toBe(Date.UTC(2026, 11, 31, 23, 59, 59));
    expect(parsed("2026-07-01T09:08:07").utcIso).toBe("2026-07-01T09:08:07+00:00");
  });

  it("accepts a space separator and a missing seconds field", () => {
    expect(millis("2026-01-15 12:30:45Z")).toBe(noon);
    expect(millis("2026-01-15 12:30:45")).toBe(noon);
    expect(millis("2026-01-15T12:30Z")).toBe(Date.UTC(2026, 0, 15, 12, 30));
  });

  it("crosses day, month and year boundaries when converting to UTC", () => {
    expect(parsed("2026-01-01T00:30:00+01:00").utcIso).toBe("2025-12-31T23:30:00+00:00");
    expect(parsed("2024-02-28T23:00:00-02:00").utcIso).toBe("2024-02-29T01:00:00+00:00");
    expect(parsed("2025-02-28T23:00:00-02:00").utcIso).toBe("2025-03-01T01:00:00+00:00");
  });

  it("rejects offsets out of range or malformed", () => {
    for (const text of [
      "2026-01-15T12:30:45+24:00",
      "2026-01-15T12:30:45+05:60",
      "2026-01-15T12:30:45+5:00",
      "2026-01-15T12:30:45+05:",
      "2026-01-15T12:30:45 +05:00",
      "2026-01-15T12:30:45ZZ",
      "2026-01-15T12:30:45UTC",
    ]) {
      expect(parseTimestamp(text), text).toBeUndefined();
    }
  });
});

describe("parseTimestamp fractions", () => {
  const base = Date.UTC(2026, 0, 15, 12, 30, 45) * 1000;

  it.each([
    ["1", 100_000, ".100000"],
    ["12", 120_000, ".120000"],
    ["123", 123_000, ".123000"],
    ["1234", 123_400, ".123400"],
    ["12345", 123_450, ".123450"],
    ["123456", 123_456, ".123456"],
    ["1234567", 123_456, ".123456"],
    ["12345678", 123_456, ".123456"],
    ["123456789", 123_456, ".123456"],
    ["000001", 1, ".000001"],
    ["999999999", 999_999, ".999999"],
  ])(".%s keeps microsecond precision", (digits, micros, fraction) => {
    const result = parsed(`2026-01-15T12:30:45.${digits}Z`);
    expect(result.epochMicros).toBe(base + micros);
    expect(result.utcIso).toBe(`2026-01-15T12:30:45${fraction}+00:00`);
  });

  it("accepts a comma as the decimal sign, and prints no fraction when it is zero", () => {
    expect(parsed("2026-01-15T12:30:45,5Z").epochMicros).toBe(base + 500_000);
    expect(parsed("2026-01-15T12:30:45.000Z").utcIso).toBe("2026-01-15T12:30:45+00:00");
    expect(parsed("2026-01-15T12:30:45.0000009Z").utcIso).toBe("2026-01-15T12:30:45+00:00");
    expect(parsed("2026-01-15T12:30:45Z").utcIso).toBe("2026-01-15T12:30:45+00:00");
  });

  it("keeps the fraction through an offset and for instants before 1970", () => {
    expect(parsed("2026-01-15T14:30:45.123456+02:00").utcIso).toBe("2026-01-15T12:30:45.123456+00:00");
    const old = parsed("1969-12-31T23:59:59.25Z");
    expect(old.epochMicros).toBe(-750_000);
    expect(old.utcIso).toBe("1969-12-31T23:59:59.250000+00:00");
  });

  it("rejects ten fraction digits, an empty fraction, and a fraction without seconds", () => {
    expect(parseTimestamp("2026-01-15T12:30:45.1234567890Z")).toBeUndefined();
    expect(parseTimestamp("2026-01-15T12:30:45.Z")).toBeUndefined();
    expect(parseTimestamp("2026-01-15T12:30.5Z")).toBeUndefined();
  });
});

describe("parseTimestamp validity", () => {
  it.each([
    "2026-02-30T00:00:00Z",
    "2025-02-29T00:00:00Z",
    "2100-02-29T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-00-10T00:00:00Z",
    "2026-01-00T00:00:00Z",
    "2026-01-32T00:00:00Z",
    "2026-01-15T24:00:00Z",
    "2026-01-15T12:60:00Z",
    "2026-01-15T12:30:60Z",
    "2026-01-15",
    "2026-01-15T",
    "2026-1-15T12:30:45Z",
    "26-01-15T12:30:45Z",
    "20260115T123045Z",
    "2026-01-15X12:30:45Z",
    "2026-01-15t12:30:45Z",
    " 2026-01-15T12:30:45Z",
    "2026-01-15T12:30:45Z ",
    "2026-01-15T12:30:45Z\n",
    "２０２６-01-15T12:30:45Z",
    "garbage",
    "",
  ])("rejects %j", (text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });

  it("accepts leap days and the last second of a day", () => {
    expect(millis("2024-02-29T00:00:00Z")).toBe(Date.UTC(2024, 1, 29));
    expect(millis("2000-02-29T00:00:00Z")).toBe(Date.UTC(2000, 1, 29));
    expect(millis("2026-04-30T23:59:59Z")).toBe(Date.UTC(2026, 3, 30, 23, 59, 59));
  });

  it("keeps years below 100 as written (Date.UTC would map them to 19xx)", () => {
    const early = parsed("0050-06-15T10:00:00Z");
    const expected = new Date(Date.UTC(2000, 5, 15, 10));
    expected.setUTCFullYear(50);
    expect(early.epochMicros / 1000).toBe(expected.getTime());
    expect(early.utcIso).toBe("0050-06-15T10:00:00+00:00");
    expect(parsed("0001-01-01T00:00:00Z").utcIso).toBe("0001-01-01T00:00:00+00:00");
    expect(parsed("0004-02-29T12:00:00Z").utcIso).toBe("0004-02-29T12:00:00+00:00");
    expect(parseTimestamp("0003-02-29T12:00:00Z")).toBeUndefined();
    expect(parsed("9999-12-31T23:59:59.999999Z").utcIso).toBe("9999-12-31T23:59:59.999999+00:00");
  });

  it("rejects year 0 and instants an offset pushes out of years 1-9999 (utcIso could not spell them)", () => {
    expect(parseTimestamp("0000-03-01T00:00:00Z")).toBeUndefined();
    expect(parseTimestamp("0001-01-01T00:30:00+01:00")).toBeUndefined();
    expect(parseTimestamp("9999-12-31T23:30:00-01:00")).toBeUndefined();
    expect(parsed("0001-01-01T00:30:00-01:00").utcIso).toBe("0001-01-01T01:30:00+00:00");
  });
});

describe("driftSeconds", () => {
  const ts = parsed("2026-01-15T12:00:00Z");
  const at = Date.UTC(2026, 0, 15, 12);

  it("is the absolute distance to now, in seconds", () => {
    expect(driftSeconds(ts, at)).toBe(0);
    expect(driftSeconds(ts, at + 300_000)).toBe(300);
    expect(driftSeconds(ts, at - 300_000)).toBe(300);
    expect(driftSeconds(ts, at + 1)).toBeCloseTo(0.001, 6);
  });

  it("counts the sub-second part of the timestamp", () => {
    expect(driftSeconds(parsed("2026-01-15T12:00:00.750Z"), at)).toBeCloseTo(0.75, 6);
    expect(driftSeconds(parsed("2026-01-15T12:05:00.5+00:00"), at)).toBeCloseTo(300.5, 6);
  });

  it("compares instants, not wall-clock text", () => {
    expect(driftSeconds(parsed("2026-01-15T13:00:00+01:00"), at)).toBe(0);
    expect(driftSeconds(parsed("2026-01-15T12:00:00"), at)).toBe(0);
  });
});
