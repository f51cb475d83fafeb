/**
 * The receiver of status messages that arrive through a sink (MQTT_STATUS_TOPICS), without a
 * broker: real state records (the memory driver's), real metrics, a pinned clock. What the
 * broker adds (topics, reconnects, runtimes) is in mqtt-status-reports.test.ts.
 * Reports are recorded by the real fleet records (features/fleet/fleet-records.ts) over memory state.
 */
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { defineSink } from "../src/core/sinks/define-sink.js";
import { reportSourceOf, type StatusReceiver } from "../src/core/sinks/status-reports.js";
import { createFleetRecords } from "../src/features/fleet/fleet-records.js";
import { REPORTS_NAMESPACE } from "../src/features/fleet/record-format.js";
import { MAX_REPORT_BYTES } from "../src/features/fleet/report-body.js";
import {
  attachStatusReports,
  createLogLimit,
  createStatusReceiver,
  LOG_INTERVAL_MS,
} from "../src/features/fleet/status-receiver.js";
import { createMetrics } from "../src/plugins/metrics/index.js";
import { createSinkMetrics } from "../src/plugins/metrics/sink-metrics.js";
import { createMemoryState } from "../src/plugins/storage/memory-state.js";

const A = "a0-00-00-00-00-0a";
const B = "b0-00-00-00-00-0b";
const enc = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
/** Hostile text a payload may carry: it must never reach a log line. */
const MARKER = "\u001b[31mDROP-TABLE-marker\u202e";

function setup(maxLoggedDevices?: number) {
  const state = createMemoryState();
  const metrics = createMetrics();
  const logger = createMemoryLogger();
  let clock = 1_700_000_000_000;
  const receive = createStatusReceiver({
    recorder: createFleetRecords({ state, logger, observer: metrics.observer, now: () => clock }),
    observer: metrics.observer,
    logger,
    via: "mqtt",
    now: () => clock,
    maxLoggedDevices,
  });
  const counted = async () => {
    const body = (await metrics.exposition()).body;
    // Series not yet counted may be absent from the exposition: they count 0.
    return {
      ok: 0,
      updating: 0,
      failed: 0,
      invalid: 0,
      ...Object.fromEntries(
        [...body.matchAll(/^iot_device_status_reports_total\{state="(\w+)"\} (\d+)$/gm)].map((m) => [
          m[1],
          Number(m[2]),
        ]),
      ),
    };
  };
  const records = async () =>
    Promise.all(
      (await state.list(REPORTS_NAMESPACE)).sort().map(async (key) => ({
        key,
        value: JSON.parse(new TextDecoder().decode((await state.get(REPORTS_NAMESPACE, key)) as Uint8Array)),
      })),
    );
  return {
    receive,
    logger,
    counted,
    records,
    advance(ms: number) {
      clock += ms;
    },
    get clock() {
      return clock;
    },
  };
}

describe("status messages received through a sink", () => {
  it("records a valid report as the fleet records read it (device-reports, <mac>.<ms>, {report, at}) and counts its state", async () => {
    const t = setup();
    await t.receive({
      device: A,
      payload: enc({ state: "ok", config_etag: "abc", firmware_version: "1.0", extra: 1 }),
    });
    await t.receive({ device: B, payload: enc({ state: "failed", message: "flash error" }) });
    expect(await t.records()).toEqual([
      {
        key: `${A}.${t.clock}`,
        value: { report: { state: "ok", config_etag: '"abc"', firmware_version: "1.0" }, at: t.clock },
      },
      { key: `${B}.${t.clock}`, value: { report: { state: "failed", message: "flash error" }, at: t.clock } },
    ]);
    expect(await t.counted()).toEqual({ ok: 1, updating: 0, failed: 1, invalid: 0 });
    expect(t.logger.entries).toEqual([]);
  });

  it("takes a MAC the firmware wrote in upper case, as the HTTP route does, recorded under lower case", async () => {
    const t = setup();
    await t.receive({ device: A.toUpperCase(), payload: enc({ state: "ok" }) });
    expect(await t.records()).toEqual([{ key: `${A}.${t.clock}`, value: { report: { state: "ok" }, at: t.clock } }]);
    expect(await t.counted()).toEqual({ ok: 1, updating: 0, failed: 0, invalid: 0 });
  });

  it.each([
    ["bad JSON", A, enc(`{"state": "ok", ${MARKER}`), "body"],
    ["not UTF-8", A, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), "body"],
    ["over the size limit", A, enc({ state: "ok", message: MARKER.repeat(400) }), "body"],
    ["a wrong state", A, enc({ state: MARKER }), "state"],
    ["a number for a string", A, enc({ state: "ok", firmware_version: 7 }), "firmware_version"],
    ["a message too long", A, enc({ state: "ok", message: "x".repeat(201) }), "message"],
    ["control characters", A, enc({ state: "ok", message: MARKER }), "message"],
    ["a topic that is not a MAC", `${MARKER}/x`, enc({ state: "ok" }), "topic"],
    ["a MAC cut short", A.slice(0, 14), enc({ state: "ok" }), "topic"],
    ["an empty topic level", "", enc({ state: "ok" }), "topic"],
  ])("refuses %s: counted invalid, logged naming the field, nothing recorded", async (_, device, payload, field) => {
    const t = setup();
    await expect(t.receive({ device, payload })).resolves.toBeUndefined();
    expect(await t.records()).toEqual([]);
    expect(await t.counted()).toEqual({ ok: 0, updating: 0, failed: 0, invalid: 1 });
    expect(t.logger.entries).toHaveLength(1);
    const [entry] = t.logger.entries;
    expect(entry).toMatchObject({ level: "warn", via: "mqtt", field });
    if (field === "topic") expect(entry).toMatchObject({ device_length: device.length });
    else expect(entry).toMatchObject({ mac: device, length: payload.byteLength });
    // Neither the payload nor a hostile topic is ever written out.
    expect(JSON.stringify(t.logger.entries)).not.toContain("DROP-TABLE");
  });

  it("refuses a payload over MAX_REPORT_BYTES before parsing it, and takes one of exactly the limit", async () => {
    const t = setup();
    const padded = (size: number) => {
      const base = JSON.stringify({ state: "ok", pad: "" });
      return enc(JSON.stringify({ state: "ok", pad: "p".repeat(size - base.length) }));
    };
    expect(padded(MAX_REPORT_BYTES).byteLength).toBe(MAX_REPORT_BYTES);
    await t.receive({ device: A, payload: padded(MAX_REPORT_BYTES) });
    await t.receive({ device: B, payload: padded(MAX_REPORT_BYTES + 1) });
    expect((await t.records()).map((r) => r.key)).toEqual([`${A}.${t.clock}`]);
    expect(t.logger.entries).toEqual([
      expect.objectContaining({ mac: B, field: "body", length: MAX_REPORT_BYTES + 1 }),
    ]);
  });

  it("logs a device's malformed messages once per minute, each device on its own, and counts every one", async () => {
    const t = setup();
    const bad = enc("{not json");
    for (let i = 0; i < 5; i++) await t.receive({ device: A, payload: bad });
    for (let i = 0; i < 3; i++) await t.receive({ device: B, payload: bad });
    expect(t.logger.entries.map((e) => e.mac)).toEqual([A, B]);
    t.advance(LOG_INTERVAL_MS - 1);
    await t.receive({ device: A, payload: bad });
    expect(t.logger.entries).toHaveLength(2);
    t.advance(1);
    await t.receive({ device: A, payload: bad });
    await t.receive({ device: B, payload: bad });
    expect(t.logger.entries.map((e) => e.mac)).toEqual([A, B, A, B]);
    expect((await t.counted()).invalid).toBe(11);
    // A valid report in between is recorded as usual.
    await t.receive({ device: A, payload: enc({ state: "updating" }) });
    expect(await t.counted()).toMatchObject({ updating: 1, invalid: 11 });
  });

  it("keeps bounded memory under a flood: bogus topics share one budget, devices beyond the limit another", async () => {
    const t = setup(100);
    const bad = enc("{");
    // 20,000 distinct bogus topics: one log line in the minute.
    for (let i = 0; i < 20_000; i++) await t.receive({ device: `bogus-${i}`, payload: bad });
    expect(t.logger.entries).toHaveLength(1);
    // 5,000 distinct valid MACs with bad payloads: at most 100 lines (the limit), then silence.
    const mac = (i: number) =>
      `aa-bb-cc-dd-${String(Math.floor(i / 100) % 100).padStart(2, "0")}-${String(i % 100).padStart(2, "0")}`;
    for (let i = 0; i < 5_000; i++) await t.receive({ device: mac(i), payload: bad });
    expect(t.logger.entries.length).toBeLessThanOrEqual(100);
    expect(t.logger.entries.length).toBeGreaterThan(90);
    expect((await t.counted()).invalid).toBe(25_000);
    // A minute later the budgets are free again.
    t.advance(LOG_INTERVAL_MS);
    const before = t.logger.entries.length;
    await t.receive({ device: "bogus-again", payload: bad });
    await t.receive({ device: A, payload: bad });
    expect(t.logger.entries.length).toBe(before + 2);
  });

  it("the log limit never holds more than its bound, whatever keys arrive", () => {
    let clock = 0;
    const limit = createLogLimit(50, LOG_INTERVAL_MS, () => clock);
    let allowed = 0;
    for (let i = 0; i < 10_000; i++) {
      if (limit.allow(`key-${i}`)) allowed++;
      clock += 1;
      expect(limit.size()).toBeLessThanOrEqual(50);
    }
    // 49 keys of their own and the shared budget, once per minute over 10 s of keys.
    expect(allowed).toBe(50);
  });

  it("a recorder that fails: logged (once a minute), counted invalid, never a rejection", async () => {
    const metrics = createMetrics();
    const logger = createMemoryLogger();
    const receive = createStatusReceiver({
      recorder: { reported: () => Promise.reject(Object.assign(new Error("disk full"), { code: "ENOSPC" })) },
      observer: metrics.observer,
      logger,
      via: "mqtt",
    });
    for (let i = 0; i < 3; i++)
      await expect(receive({ device: A, payload: enc({ state: "ok" }) })).resolves.toBe(undefined);
    expect(logger.entries).toEqual([
      expect.objectContaining({ level: "error", mac: A, msg: "could not record a device's status report" }),
    ]);
    expect((await metrics.exposition()).body).toContain('iot_device_status_reports_total{state="invalid"} 3');
  });
});

describe("the receiving capability", () => {
  const source = (received: StatusReceiver[]) =>
    defineSink({ name: "recv", deliver: async () => undefined, statusReports: (r) => received.push(r) });

  it("is declared by a sink that receives, passed through defineSink and the metrics decorator, absent otherwise", () => {
    const received: StatusReceiver[] = [];
    const wrapped = createSinkMetrics(new Registry()).wrap(source(received));
    expect(reportSourceOf(wrapped)).toBeDefined();
    const logger = createMemoryLogger();
    const attach = (sink: Parameters<typeof attachStatusReports>[0]) =>
      attachStatusReports(sink, {
        recorder: createFleetRecords({ state: createMemoryState(), logger, observer: createMetrics().observer }),
        observer: createMetrics().observer,
        logger,
      });
    expect(attach(wrapped)).toBe(true);
    expect(received).toHaveLength(1);
    const plain = defineSink({ name: "plain", deliver: async () => undefined });
    expect(reportSourceOf(plain)).toBeUndefined();
    expect(attach(createSinkMetrics(new Registry()).wrap(plain))).toBe(false);
  });
});
