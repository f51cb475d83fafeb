/**
 * iot-rollout end to end against a real spawned server with admin tokens (API_TOKEN_HASHES):
 * a rollout created by the command, followed by `status --watch` (the program, a child process
 * whose stdout is a pipe: plain lines) while the test plays the devices, reading their config
 * and reporting it applied with PUT /files/status/{mac}.json, until it completes; then pause,
 * resume, abort and rollback of a second rollout (one device changed by an admin meanwhile is
 * skipped), and the server's refusals (409, 400, 404) as its error line with exit status 1.
 * The other runs go through runRollout in this process (rollout-cli.ts), with real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newToken, tokenHash } from "../src/cli/token.js";
import type { RolloutView } from "../src/features/rollouts/contract.js";
import { ROLLOUT_BIN, start } from "./support/cli-run.js";
import { rolloutHere } from "./support/rollout-cli.js";
import { type SpawnedServer, spawnServer } from "./support/server.js";
import { waitUntil } from "./support/wait.js";

/** A deadline for one test of a few CLI runs and a rollout on a loaded machine, not an expectation of speed. */
const CLI_TEST_MS = 120_000;
const MACS = ["aa-bb-cc-dd-ee-01", "aa-bb-cc-dd-ee-02", "aa-bb-cc-dd-ee-03", "aa-bb-cc-dd-ee-04"];
const UNKNOWN = "aa-bb-cc-dd-ee-99";

describe("iot-rollout against the server", () => {
  const admin = newToken();
  let server: SpawnedServer;
  const env = () => ({ IOT_ADMIN_TOKEN: admin, IOT_SERVER_URL: server.url });
  const cli = (...args: string[]) => rolloutHere(args, env());
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${admin}`, "Content-Type": "application/json", ...init.headers },
    });
  const saveConfig = async (mac: string, content: Record<string, unknown>) => {
    const saved = await api(`/api/configs/${mac}`, { method: "PUT", body: JSON.stringify({ content }) });
    expect(saved.status).toBe(200);
  };
  const view = async (id: string) => (await (await api(`/api/rollouts/${id}`)).json()) as RolloutView;
  /** A device reads its config and, once the rollout's patch is in it, reports it applied. */
  const applyWhenPatched = async (mac: string, field: string) => {
    await waitUntil(
      `${mac} patched with ${field}`,
      async () => {
        const read = await fetch(`${server.url}/files/configs/${mac}.json`);
        const content = (await read.json()) as Record<string, unknown>;
        if (content[field] === undefined) return false;
        const reported = await fetch(`${server.url}/files/status/${mac}.json`, {
          method: "PUT",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ state: "ok", config_etag: read.headers.get("etag") }),
        });
        expect(reported.status).toBe(204);
        return true;
      },
      undefined,
      100,
    );
  };
  const idOf = (stdout: string) => /^created rollout (\d+) /.exec(stdout)?.[1] as string;

  beforeAll(async () => {
    server = await spawnServer({ API_TOKEN_HASHES: tokenHash(admin) });
    for (const mac of MACS) await saveConfig(mac, { deviceName: mac });
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it(
    "creates a rollout, shows it as JSON, and watches it in plain lines until completed (exit 0)",
    async () => {
      const created = await cli(
        "create",
        "--name",
        "firmware 1.4.2",
        "--patch",
        '{"firmware": {"version": "1.4.2"}}',
        "--targets",
        MACS.join(","),
        "--waves",
        "50,100",
        "--advance-applied",
        "100",
        "--within",
        "600",
        "--halt-failed",
        "50",
      );
      expect(created).toMatchObject({ code: 0, stderr: "" });
      expect(created.stdout).toMatch(
        /^created rollout \d+ "firmware 1.4.2": 4 targets in 2 waves \(50%: 2, 100%: 2 devices\)/,
      );
      const id = idOf(created.stdout);

      const status = await cli("status", id, "--json");
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({
        id,
        name: "firmware 1.4.2",
        state: "running",
        patch: { firmware: { version: "1.4.2" } },
        waves: [
          { percent: 50, devices: 2, released_at: expect.any(String) },
          { percent: 100, devices: 2, released_at: null },
        ],
        counts: { targets: 4, released: 2 },
      });

      // The program itself, stdout a pipe, as in a CI log.
      const watch = start(process.execPath, [ROLLOUT_BIN, "status", id, "--watch", "--interval", "0.2"], env());
      for (const mac of MACS.slice(0, 2)) await applyWhenPatched(mac, "firmware");
      for (const mac of MACS.slice(2)) await applyWhenPatched(mac, "firmware");
      const watched = await watch.finished;
      expect(watched.code).toBe(0);
      expect(watched.stderr).toBe("");
      expect(watched.stdout).not.toContain("\u001b");
      const lines = watched.stdout.trimEnd().split("\n");
      for (const line of lines) {
        expect(line).toMatch(
          /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ wave [12]\/2 (50|100)% released \d applied \d failed 0 pending \d state (running|completed)$/,
        );
      }
      expect(lines.at(-1)).toMatch(/ wave 2\/2 100% released 4 applied 4 failed 0 pending 0 state completed$/);
      // One line per change: no two alike in a row.
      expect(lines.map((l) => l.slice(21)).filter((l, i, all) => l === all[i - 1])).toEqual([]);

      const listed = await cli("list");
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(
        new RegExp(`^\\s+${id} {2}completed\\s+2/2\\s+4/4\\s+4\\s+0 .*"firmware 1.4.2"$`, "m"),
      );
    },
    CLI_TEST_MS,
  );

  it(
    "pauses, resumes, aborts and rolls back, printing each new state and the skipped MAC; a refused action is one error line with exit 1",
    async () => {
      const created = await cli(
        ...["create", "--name", "tune", "--patch", '{"tuning": 2}', "--targets", "all", "--waves", "50,100"],
        ...["--advance-applied", "100", "--within", "600", "--halt-failed", "50"],
      );
      expect(created.code).toBe(0);
      const id = idOf(created.stdout);
      // "all": every config in MAC order, so wave 1 is the first two.
      await waitUntil("wave 1 released", async () => (await view(id)).counts.released === 2);

      const paused = await cli("pause", id);
      expect(paused).toMatchObject({ code: 0, stderr: "" });
      expect(paused.stdout).toMatch(new RegExp(`^rollout ${id} "tune" paused: state paused; wave 1/2 50% released 2`));

      const again = await cli("pause", id);
      expect(again).toMatchObject({ code: 1, stdout: "" });
      const [headline, ...notes] = again.stderr.trimEnd().split("\n");
      expect(headline).toMatch(
        new RegExp(`^iot-rollout: the server refused the pause of rollout ${id} \\(409 INVALID_OPERATION\\): \\S`),
      );
      expect(notes.at(-1)).toMatch(/^ {2}correlation id: [\w-]{8,} /);

      expect((await cli("resume", id)).stdout).toMatch(/ resumed: state running; /);
      expect((await cli("abort", id)).stdout).toMatch(/ aborted: state aborted; /);

      // An admin changes a released device after the rollout wrote it: the rollback leaves it alone.
      await waitUntil("the first device patched", async () => {
        const read = await fetch(`${server.url}/files/configs/${MACS[0]}.json`);
        return ((await read.json()) as Record<string, unknown>).tuning === 2;
      });
      await saveConfig(MACS[0] as string, { deviceName: "changed by hand" });
      const rolledBack = await cli("rollback", id);
      expect(rolledBack).toMatchObject({ code: 0, stderr: "" });
      expect(rolledBack.stdout).toContain(`rolled back: state rolled_back; `);
      expect(rolledBack.stdout).toContain(
        `1 device(s) skipped, left as they are: their config changed after the rollout wrote it\n  ${MACS[0]}\n`,
      );
      const second = await fetch(`${server.url}/files/configs/${MACS[1]}.json`);
      expect(((await second.json()) as Record<string, unknown>).tuning).toBeUndefined();

      const json = await cli("rollback", id, "--json");
      expect(json).toMatchObject({ code: 1, stdout: "" });
      expect(json.stderr).toContain("(409 INVALID_OPERATION)");
    },
    CLI_TEST_MS,
  );

  it(
    "shows the server's 400 (a target without a config) and 404 (no such rollout) as its error line, exit 1",
    async () => {
      const refused = await cli(
        ...["create", "--name", "x", "--patch", '{"a": 1}', "--targets", `${MACS[0]},${UNKNOWN}`, "--waves", "100"],
        ...["--advance-applied", "50", "--within", "60", "--halt-failed", "50"],
      );
      expect(refused).toMatchObject({ code: 1, stdout: "" });
      expect(refused.stderr).toMatch(/^iot-rollout: the server refused the rollout \(400 VALIDATION_FAILED\): \S/);
      expect(refused.stderr).toContain(`${UNKNOWN} has no config on the server`);

      const missing = await cli("status", "999999");
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(
        /^iot-rollout: the server refused the request for rollout 999999 \(404 RECORD_NOT_FOUND\)/,
      );
      expect(missing.stderr).toContain("there is no rollout 999999 on this server");
      expect(server.output()).not.toContain(admin);
    },
    CLI_TEST_MS,
  );
});
