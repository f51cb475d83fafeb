/**
 * The fleet simulator's small parts that need no broker or server: how a fleet is split
 * over shards for the open-file limit, how storage writes for read records are read from
 * /metrics and held to SPEC's bound, and the command line of the new flags.
 */
import { describe, expect, it } from "vitest";
import { parseFleetArgs } from "../tools/fleet/args.js";
import { isFleetError } from "../tools/fleet/errors.js";
import { brokerConfig } from "../tools/fleet/fleet-broker.js";
import { checkOptions, withDefaults } from "../tools/fleet/options.js";
import { parseRecordWrites, recordWritesBetween } from "../tools/fleet/record-writes.js";
import { reservedFds, shardsNeeded, splitDevices } from "../tools/fleet/shards.js";

const codeOf = (run: () => unknown) => {
  try {
    run();
    return undefined;
  } catch (error) {
    return isFleetError(error) ? error.code : String(error);
  }
};

describe("fleet shards", () => {
  it("10,000 devices fit one process under a 20,000-file limit; 30,000 need two; no limit known, one", () => {
    const reserved = reservedFds(64, 50);
    expect(shardsNeeded(10_000, 20_000, reserved)).toBe(1);
    expect(shardsNeeded(30_000, 20_000, reserved)).toBe(2);
    expect(shardsNeeded(1000, 500, reserved)).toBe(9);
    expect(shardsNeeded(10_000, undefined, reserved)).toBe(1);
    expect(codeOf(() => shardsNeeded(10, 100, reserved))).toBe("SETUP");
  });

  it("splits every device exactly once, in order, sizes differing by at most one", () => {
    expect(splitDevices(7, 3)).toEqual([
      { first: 0, count: 3 },
      { first: 3, count: 2 },
      { first: 5, count: 2 },
    ]);
    const ranges = splitDevices(10_000, 4);
    expect(ranges.reduce((sum, r) => sum + r.count, 0)).toBe(10_000);
    expect(ranges.map((r) => r.count)).toEqual([2500, 2500, 2500, 2500]);
  });
});

describe("fleet storage writes for read records", () => {
  const metrics = (fetches: number, reports: number) =>
    [
      "# HELP iot_device_record_writes_total Fleet records written to storage",
      "# TYPE iot_device_record_writes_total counter",
      `iot_device_record_writes_total{kind="fetches"} ${fetches}`,
      `iot_device_record_writes_total{kind="reports"} ${reports}`,
      'iot_devices{sync="current"} 3',
    ].join("\n");

  it("reads every kind; a server without the metric says nothing rather than 0", () => {
    expect(parseRecordWrites(metrics(2, 5))).toEqual({ fetches: 2, reports: 5 });
    expect(parseRecordWrites("iot_devices 1\n")).toBeUndefined();
    // Declared, nothing written yet: zero of every kind.
    expect(parseRecordWrites("# TYPE iot_device_record_writes_total counter\n")).toEqual({});
    expect(parseRecordWrites(undefined)).toBeUndefined();
  });

  it("counts read-record writes only, per device per started 10 s window", () => {
    // 100 devices, 25 s: up to 3 flushes each, so 300 writes is the bound and reports do not count.
    const within = recordWritesBetween({ fetches: 10, reports: 0 }, { fetches: 310, reports: 1000 }, 100, 25);
    expect(within).toEqual({ writes: 300, windowSeconds: 25, perDevicePer10s: 1 });
    const over = recordWritesBetween({ fetches: 0 }, { fetches: 301 }, 100, 25);
    expect(over?.perDevicePer10s).toBeGreaterThan(1);
    expect(recordWritesBetween(undefined, { fetches: 1 }, 100, 25)).toBeUndefined();
  });
});

describe("fleet command line and options", () => {
  it("--report, --shards and --view-timeout reach the options; the report defaults to http", () => {
    const command = parseFleetArgs(["--devices", "10", "--report", "mqtt", "--shards", "2", "--view-timeout", "5"]);
    expect(command?.options).toMatchObject({ devices: 10, report: "mqtt", shards: 2, viewTimeoutSeconds: 5 });
    expect(parseFleetArgs(["--devices", "10"])?.options.report).toBe("http");
  });

  it("refuses an unknown report mode, more shards than devices, and a view timeout of 0", () => {
    expect(codeOf(() => checkOptions(withDefaults({ devices: 2, report: "smoke" as "http" })))).toBe("USAGE");
    expect(codeOf(() => checkOptions(withDefaults({ devices: 2, shards: 3 })))).toBe("USAGE");
    expect(codeOf(() => checkOptions(withDefaults({ devices: 2, viewTimeoutSeconds: 0 })))).toBe("USAGE");
    expect(codeOf(() => checkOptions(withDefaults({ devices: 2, shards: 2, report: "none" })))).toBeUndefined();
  });

  it("the private broker is sized for the fleet on its MQTT listener", () => {
    const text = brokerConfig({ tcp: 1883, ws: 8080 }, 10_050);
    expect(text).toMatch(/^listener 1883 127\.0\.0\.1\nprotocol mqtt\nmax_connections 10050\n/);
  });
});
