/**
 * STATE_DIR may hold what others put there. Records that are not the server's — damaged
 * JSON, a huge file, a FIFO, a directory, a link out of the folder, names of no record,
 * entries of a batch with bad MACs, bad ETags or times far ahead — are skipped and logged
 * once; the fleet view answers with what is readable, and never hangs or crashes.
 */
import { execFileSync } from "node:child_process";
import { mkdir, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RESCAN_MS } from "../src/features/fleet/fleet-records.js";
import { createTestApp, type TestApp } from "./support/app.js";
import { FLEET_ENV, fleetClient } from "./support/fleet-contract.js";

const apps: TestApp[] = [];
afterEach(async () => {
  for (const t of apps.splice(0)) await t.cleanup();
});

const MAC = "aa-00-00-00-00-0a";
const OTHER = "aa-00-00-00-00-0b";
const ETAG = `"${"c".repeat(64)}"`;
const json = (value: unknown) => JSON.stringify(value);

describe("fleet records placed in STATE_DIR by others", () => {
  it("skips what is not a record, keeps what is, and says so once per record", async () => {
    const t = await createTestApp("fs", FLEET_ENV());
    apps.push(t);
    const c = fleetClient(() => async (path, init) => t.app.request(path, init));
    const reports = join(t.settings.stateDir, "device-reports");
    const fetches = join(t.settings.stateDir, "device-fetches");
    await mkdir(reports, { recursive: true });
    await mkdir(fetches, { recursive: true });
    const at = Date.now() - 60_000;

    // MAC: a readable older report, and newer "reports" that are not readable ones.
    await writeFile(join(reports, `${MAC}.${at}`), json({ report: { state: "ok", firmware_version: "old" }, at }));
    await writeFile(join(reports, `${MAC}.${at + 1}`), "{not json");
    await writeFile(join(reports, `${MAC}.${at + 2}`), json({ report: { state: "hacked" }, at: at + 2 }));
    await writeFile(join(reports, `${MAC}.${at + 3}`), json({ report: { state: "ok" }, at: 1 }));
    // OTHER: only things that are no records at all.
    await writeFile(join(reports, `${OTHER}.${at}`), "");
    await truncate(join(reports, `${OTHER}.${at}`), 20 * 1024 * 1024);
    execFileSync("mkfifo", [join(reports, `${OTHER}.${at + 1}`)]);
    await mkdir(join(reports, `${OTHER}.${at + 2}`));
    await symlink("/etc/passwd", join(reports, `${OTHER}.${at + 3}`));
    await writeFile(join(reports, "notes.txt"), "hello");

    const pid = "f".repeat(32);
    await writeFile(
      join(fetches, `${pid}.${at}`),
      json({
        fetches: {
          [OTHER]: [ETAG, at],
          "AA-00-00-00-00-0C": [ETAG, at],
          "aa-00-00-00-00-0d": ["unquoted", at],
          "aa-00-00-00-00-0e": [`"ctl\u0001"`, at],
          "aa-00-00-00-00-0f": [ETAG, Date.now() + 24 * 3600_000],
          "aa-00-00-00-00-10": "not an entry",
          "aa-00-00-00-00-11": [ETAG, -5],
        },
      }),
    );
    await writeFile(join(fetches, `${"e".repeat(32)}.${at}`), "[1,2,3]");
    await writeFile(join(fetches, `${"d".repeat(32)}.${at}`), "");
    await truncate(join(fetches, `${"d".repeat(32)}.${at}`), 17 * 1024 * 1024);
    await writeFile(join(fetches, "README"), "not a batch");

    const { devices } = await c.list();
    expect(devices.map((row) => [row.mac_address, row.state, row.firmware_version, row.fetched_etag])).toEqual([
      [MAC, "ok", "old", null],
      [OTHER, null, null, ETAG],
    ]);
    const warnings = () => t.logger.entries.filter((e) => e.level === "warn" && String(e.msg).includes("fleet record"));
    const keysWarned = warnings().map((e) => String(e.key));
    expect(keysWarned).toEqual(
      expect.arrayContaining([
        `${MAC}.${at + 1}`,
        `${MAC}.${at + 2}`,
        `${MAC}.${at + 3}`,
        `${OTHER}.${at}`,
        "notes.txt",
        `${"e".repeat(32)}.${at}`,
        `${"d".repeat(32)}.${at}`,
        "README",
      ]),
    );
    // No server path in what is logged.
    expect(JSON.stringify(warnings())).not.toContain(t.settings.stateDir);
    const count = warnings().length;
    // The next scan (RESCAN_MS later) reads nothing again, and says nothing again.
    await new Promise((done) => setTimeout(done, RESCAN_MS + 100));
    expect((await c.list()).count).toBe(2);
    expect(warnings()).toHaveLength(count);
    // The device's own next report is recorded over all that.
    expect((await c.report(MAC, { state: "updating" })).status).toBe(204);
    expect((await c.device(MAC)).state).toBe("updating");
  }, 30_000);
});
