import { describe, expect, it } from "vitest";
import { checkReport, parseReport } from "../src/features/fleet/report-body.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe("status report check (SPEC Devices: PUT /files/status/{mac}.json and iotsupport/status/<mac>)", () => {
  it("accepts the fields of SPEC, adds the quotes a report may leave out, and drops unknown fields", () => {
    const check = checkReport({
      state: "ok",
      config_etag: "abc123",
      firmware_version: "1.2.3",
      message: "fine",
      future: 1,
    });
    expect(check).toEqual({
      ok: true,
      report: { state: "ok", config_etag: '"abc123"', firmware_version: "1.2.3", message: "fine" },
    });
    expect(checkReport({ state: "failed", config_etag: '"abc"' })).toEqual({
      ok: true,
      report: { state: "failed", config_etag: '"abc"' },
    });
  });

  it.each([
    [[], "body"],
    ["ok", "body"],
    [null, "body"],
    [{}, "state"],
    [{ state: "done" }, "state"],
    [{ state: "ok", config_etag: 5 }, "config_etag"],
    [{ state: "ok", config_etag: "" }, "config_etag"],
    [{ state: "ok", config_etag: 'a"b' }, "config_etag"],
    [{ state: "ok", config_etag: "x".repeat(131) }, "config_etag"],
    [{ state: "ok", firmware_version: "v".repeat(65) }, "firmware_version"],
    [{ state: "ok", firmware_version: 1 }, "firmware_version"],
    [{ state: "ok", message: "m".repeat(201) }, "message"],
    [{ state: "ok", message: "line\nbreak" }, "message"],
    [{ state: "ok", message: "lone \ud800 surrogate" }, "message"],
  ])("refuses %j naming %s", (value, field) => {
    const check = checkReport(value);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.field).toBe(field);
  });

  it("keeps limits at their edge: 64 and 200 characters pass", () => {
    expect(checkReport({ state: "updating", firmware_version: "v".repeat(64), message: "é".repeat(200) }).ok).toBe(
      true,
    );
  });

  it("refuses bytes that are not UTF-8 JSON, naming the body", () => {
    expect(parseReport(enc("{not json"))).toMatchObject({ ok: false, field: "body" });
    expect(parseReport(new Uint8Array([0x7b, 0xff, 0x7d]))).toMatchObject({ ok: false, field: "body" });
    expect(parseReport(enc('{"state":"ok"}'))).toEqual({ ok: true, report: { state: "ok" } });
  });
});
