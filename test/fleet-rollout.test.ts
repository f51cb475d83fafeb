/**
 * The fleet simulator's rollout mode (issue 20, point 6) against a real Mosquitto and a
 * real server, small: 200 devices in 2 shards (child processes), waves 10, 50, 100 %.
 * With no device failing the rollout completes, every wave released and every device's
 * config changed; with 30 % failing (chosen by MAC hash) it halts in the first wave and
 * the share of the fleet it changed, as printed by the CLI, is at most that wave's. The
 * small parts (which devices fail, wave sizes, the flags) are checked without a server.
 * Nothing here asserts a duration: the machine is shared.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseFleetArgs } from "../tools/fleet/args.js";
import { isFleetError } from "../tools/fleet/errors.js";
import { macOf, runFleet } from "../tools/fleet/fleet.js";
import { checkOptions } from "../tools/fleet/options.js";
import { failsRollout, waveSizes } from "../tools/fleet/rollout-plan.js";
import { mosquittoAvailable } from "./support/mosquitto.js";
import { ROOT } from "./support/server.js";

const DEVICES = 200;
const RUN_TIMEOUT_MS = 120_000;
const usage = (argv: string[]) => {
  try {
    const command = parseFleetArgs(argv);
    if (command) checkOptions(command.options);
    return undefined;
  } catch (error) {
    return isFleetError(error) ? `${error.code}: ${error.message}` : String(error);
  }
};

describe("fleet rollout plan", () => {
  it("fails a share of the devices close to the one asked, the same devices every time", () => {
    const macs = Array.from({ length: 10_000 }, (_, i) => macOf(i));
    const failing = macs.filter((mac) => failsRollout(mac, 0.3));
    expect(failing.length).toBeGreaterThan(2800);
    expect(failing.length).toBeLessThan(3200);
    expect(macs.filter((mac) => failsRollout(mac, 0.3))).toEqual(failing);
    expect(macs.some((mac) => failsRollout(mac, 0))).toBe(false);
    expect(macs.every((mac) => failsRollout(mac, 1))).toBe(true);
    // Wave 1 of the test below (the first 20 devices) must be able to tip a 10 % halt.
    expect(macs.slice(0, 20).filter((mac) => failsRollout(mac, 0.3)).length).toBeGreaterThanOrEqual(2);
  });

  it("sizes waves as SPEC does: the first ceil(p × N / 100), not cumulative", () => {
    expect(waveSizes([1, 10, 50, 100], 10_000)).toEqual([100, 900, 4000, 5000]);
    expect(waveSizes([10, 50, 100], 200)).toEqual([20, 80, 100]);
    expect(waveSizes([1, 100], 3)).toEqual([1, 2]);
  });

  it("reads the rollout flags and refuses what the server would, before starting anything", () => {
    const command = parseFleetArgs(["--devices", "10", "--rollout", "--waves", "5,100", "--fail-share", "0.3"]);
    expect(command?.options.rollout).toMatchObject({ waves: [5, 100], failShare: 0.3, evidence: "report" });
    expect(parseFleetArgs(["--devices", "10"])?.options.rollout).toBeUndefined();
    expect(usage(["--devices", "10", "--waves", "5,100"])).toBe("USAGE: --waves needs --rollout");
    expect(usage(["--devices", "10", "--rollout", "--waves", "50,10,100"])).toMatch(/^USAGE: --waves/);
    expect(usage(["--devices", "10", "--rollout", "--waves", "10,50"])).toMatch(/^USAGE: --waves/);
    expect(usage(["--devices", "10", "--rollout", "--waves", "1;100"])).toMatch(/^USAGE: --waves/);
    expect(usage(["--devices", "10", "--rollout", "--fail-share", "1.5"])).toMatch(/^USAGE: --fail-share/);
    expect(usage(["--devices", "10", "--rollout", "--evidence", "seen"])).toMatch(/^USAGE: --evidence/);
    expect(usage(["--devices", "10", "--rollout", "--halt-percent", "0"])).toMatch(/^USAGE: --halt-percent/);
    expect(usage(["--devices", "10", "--rollout", "--report", "none"])).toMatch(/needs --evidence fetch/);
    expect(usage(["--devices", "10", "--rollout", "--report", "none", "--evidence", "fetch"])).toBeUndefined();
  });
});

describe.skipIf(!mosquittoAvailable())("fleet rollout against a real server", () => {
  it(
    `${DEVICES} devices in 2 shards, none failing: the rollout completes, every wave released, every config changed`,
    async () => {
      const report = await runFleet({
        devices: DEVICES,
        shards: 2,
        perDeviceTopics: true,
        firmwareBytes: 16 * 1024,
        rollout: {
          waves: [10, 50, 100],
          failShare: 0,
          evidence: "report",
          appliedPercent: 90,
          withinSeconds: 300,
          failedPercent: 10,
        },
      });

      expect(report.problems).toEqual([]);
      const rollout = report.rollout;
      expect(rollout?.state).toBe("completed");
      expect(rollout?.stalled).toBe(false);
      expect(rollout?.counts).toEqual({ targets: DEVICES, released: DEVICES, applied: DEVICES, failed: 0, pending: 0 });
      expect(rollout?.waves.map((w) => w.devices)).toEqual([20, 80, 100]);
      for (const wave of rollout?.waves ?? []) {
        expect(wave.releasedAfterMs).not.toBeNull();
        expect(wave.msToNext).not.toBeNull();
      }
      expect(rollout?.changed).toEqual({ devices: DEVICES, of: DEVICES, percent: 100 });
      // Each device fetched its own config, then the rollout's, and reported both.
      expect(report.fetches.ok200).toBe(2 * DEVICES);
      expect(report.reports).toMatchObject({ ok: 2 * DEVICES, failed: 0 });
    },
    RUN_TIMEOUT_MS,
  );

  it(
    `${DEVICES} devices in 2 shards, 30 % failing: the CLI prints a halt in wave 1 and at most wave 1's share changed`,
    async () => {
      const args = ["--devices", String(DEVICES), "--shards", "2", "--per-device-topics", "--firmware-bytes", "16384"];
      args.push("--rollout", "--waves", "10,50,100", "--fail-share", "0.3", "--halt-percent", "10");
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", "tools/fleet/main.ts", ...args],
        {
          cwd: ROOT,
          timeout: RUN_TIMEOUT_MS,
        },
      );

      expect(stdout).toMatch(/^result: +ok$/m);
      expect(stdout).toMatch(/^rollout: +\d+ halted after [\d.]+ s/m);
      expect(stdout).toMatch(
        /^ {2}wave 1 \(10 %, 20 devices, \d+ set to fail\): released at \+[\d.]+ s, [\d.]+ s to the end$/m,
      );
      expect(stdout).toMatch(/^ {2}wave 2 \(50 %, 80 devices, \d+ set to fail\): not released$/m);
      expect(stdout).toMatch(/^ {2}wave 3 \(100 %, 100 devices, \d+ set to fail\): not released$/m);
      const changed = /^rollout changed: +([\d.]+) % of devices \((\d+) of (\d+) config ETags/m.exec(stdout);
      expect(changed, stdout).not.toBeNull();
      expect(Number(changed?.[3])).toBe(DEVICES);
      expect(Number(changed?.[2])).toBeGreaterThan(0);
      expect(Number(changed?.[2])).toBeLessThanOrEqual(20);
      expect(Number(changed?.[1])).toBeLessThanOrEqual(10);
    },
    RUN_TIMEOUT_MS,
  );
});
