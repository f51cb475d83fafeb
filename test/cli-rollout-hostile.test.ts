/**
 * iot-rollout against a server that answers what the test writes byte for byte
 * (test/support/hostile-server.ts): the requests it sends, what it makes of refusals, of
 * answers that are no rollout, of hostile names, and how a watch ends. Run as a user runs it
 * (`node bin/iot-rollout.mjs`, a child process) where the program itself is the subject
 * (create, a watch's exit status, a terminal: a real pseudo-terminal from util-linux
 * `script`); in this process otherwise (rollout-cli.ts). Against the real server: cli-rollout.test.ts.
 */
import { execFileSync } from "node:child_process";
import { access, constants, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROLLOUT_BIN, runRollout as rollout, start } from "./support/cli-run.js";
import { expectTerminalSafe, HOSTILE, hostileRefusal, hostileServers } from "./support/hostile-cli.js";
import { sendJson } from "./support/hostile-server.js";
import { rolloutHere } from "./support/rollout-cli.js";
import { FIXTURE_CONDITIONS_ARGV, rolloutFixture } from "./support/rollout-fixture.js";
import { ROOT } from "./support/server.js";

/** A deadline for one test of a few CLI runs on a loaded machine, not an expectation of speed. */
const CLI_TEST_MS = 120_000;
const ADMIN = "iot_hostile-test-admin-token";

/** util-linux `script` gives the watch a real pseudo-terminal; where it is missing the test says so (and CI fails). */
const hasScript = (() => {
  try {
    execFileSync("script", ["--version"], { stdio: "pipe" });
    return true;
  } catch (error) {
    if (process.env.CI)
      throw new Error("util-linux script is missing, but CI must run the terminal test", { cause: error });
    console.warn("\n*** SKIPPING the iot-rollout terminal test: util-linux script is not installed ***\n");
    return false;
  }
})();

describe("iot-rollout against a server that answers what the test says", () => {
  const serve = hostileServers();
  const running = rolloutFixture();
  const completed = rolloutFixture({
    state: "completed",
    waves: running.waves.map((w) => ({
      ...w,
      released_at: w.released_at ?? "2026-07-04T12:01:00.000Z",
      counts: { released: w.devices, applied: w.devices, failed: 0, pending: 0 },
    })),
    counts: { targets: 1000, released: 1000, applied: 1000, failed: 0, pending: 0 },
  });
  /** Answers the i-th request with the i-th rollout (the last one for any after). */
  const sequence = (...views: unknown[]) =>
    serve((socket, _, i) => sendJson(socket, "200 OK", views[Math.min(i, views.length - 1)]));

  it(
    "sends SPEC's create body with the admin token in the header only, and prints the id and a summary",
    async () => {
      const server = await serve((socket) => sendJson(socket, "201 Created", running));
      const run = await rollout(
        [
          "create",
          "--name",
          "firmware 1.4.2",
          "--patch",
          '{"firmware": {"version": "1.4.2"}}',
          "--targets",
          "AA-BB-CC-DD-EE-01,aa-bb-cc-dd-ee-02",
          "--waves",
          "50,100",
          "--evidence",
          "fetch",
          ...FIXTURE_CONDITIONS_ARGV,
          "--server",
          server.url,
        ],
        { IOT_ADMIN_TOKEN: ADMIN },
      );
      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(/^created rollout 7 "firmware 1.4.2": 1000 targets in 4 waves/);
      const [request] = server.requests;
      expect(request).toMatchObject({ method: "POST", path: "/api/rollouts" });
      expect(request?.headers.authorization).toBe(`Bearer ${ADMIN}`);
      expect(request?.headers["content-type"]).toBe("application/json");
      expect(JSON.parse(String(request?.body))).toEqual({
        name: "firmware 1.4.2",
        patch: { firmware: { version: "1.4.2" } },
        targets: ["aa-bb-cc-dd-ee-01", "aa-bb-cc-dd-ee-02"],
        waves: [50, 100],
        evidence: "fetch",
        advance_when: running.advance_when,
        halt_when: running.halt_when,
      });
      expect(run.stdout).not.toContain(ADMIN);
    },
    CLI_TEST_MS,
  );

  it(
    "shows a 409 as the server's error line with exit status 1, what it means, and its correlation id",
    async () => {
      const server = await serve((socket) =>
        sendJson(socket, "409 Conflict", {
          error: "Rollout 7 is completed: pause needs running",
          code: "INVALID_OPERATION",
          status: 409,
          details: {},
          correlationId: "c0ffee",
        }),
      );
      const run = await rolloutHere(["pause", "7", "--server", server.url]);
      expect(run).toMatchObject({ code: 1, stdout: "" });
      const [headline, ...notes] = run.stderr.trimEnd().split("\n");
      expect(headline).toBe(
        "iot-rollout: the server refused the pause of rollout 7 (409 INVALID_OPERATION): Rollout 7 is completed: pause needs running",
      );
      expect(notes).toEqual([
        "  pause needs a running rollout (iot-rollout status 7 shows its state)",
        "  correlation id: c0ffee (the server's log line for this request carries it)",
      ]);
      expect(server.requests[0]).toMatchObject({ method: "POST", path: "/api/rollouts/7/pause" });
    },
    CLI_TEST_MS,
  );

  it(
    "escapes a hostile name and hostile error text, and keeps the name intact in --json",
    async () => {
      const view = rolloutFixture({ name: HOSTILE });
      const server = await sequence(view);
      const watched = await sequence(view, { ...completed, name: HOSTILE });
      const listed = await sequence({ rollouts: [view], count: 1 });
      for (const [args, answers] of [
        [["status", "7"], server],
        [["list"], listed],
        [["status", "7", "--watch", "--interval", "0.2"], watched],
      ] as const) {
        const run = await rolloutHere([...args, "--server", answers.url]);
        expect(run).toMatchObject({ code: 0, stderr: "" });
        expectTerminalSafe(run.stdout);
        // A watch's plain lines carry no name; the others show it escaped.
        if (!(args as readonly string[]).includes("--watch")) expect(run.stdout).toContain("\\x1b]0;owned");
      }
      const status = await rolloutHere(["status", "7", "--server", server.url]);
      expect(status.stdout).toContain('rollout 7 "\\x1b]0;owned\\x07\\x1b[2J\\u202egnp.exe"  running');
      const json = await rolloutHere(["status", "7", "--json", "--server", server.url]);
      expect(JSON.parse(json.stdout)).toEqual(view);

      const refusing = await serve(hostileRefusal("400 Bad Request", "VALIDATION_FAILED", { mac_address: HOSTILE }));
      const refused = await rolloutHere(["resume", "7", "--server", refusing.url]);
      expect(refused.code).toBe(1);
      expectTerminalSafe(refused.stderr);
      expect(refused.stderr).toContain("(400 VALIDATION_FAILED): \\x1b]0;owned");
    },
    CLI_TEST_MS,
  );

  it(
    "refuses an answer that is no rollout, or a rollout other than the one asked for, with exit status 1",
    async () => {
      for (const answer of [{ hello: "world" }, rolloutFixture({ id: "8" }), { ...running, state: "exploded" }]) {
        const server = await sequence(answer);
        const run = await rolloutHere(["status", "7", "--server", server.url]);
        expect(run).toMatchObject({ code: 1, stdout: "" });
        expect(run.stderr).toContain("iot-rollout: the server answered 200 but not with a rollout");
      }
    },
    CLI_TEST_MS,
  );

  it(
    "watches without a terminal: plain lines, no escape codes, exit 0 when completed and 4 when halted",
    async () => {
      const done = await sequence(running, running, completed);
      const run = await rollout(["status", "7", "--watch", "--interval", "0.2", "--server", done.url]);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe("");
      const lines = run.stdout.trimEnd().split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ wave 2\/4 10% released 100 applied 80 failed 3 pending 17 state running$/,
      );
      expect(lines[1]).toMatch(/ wave 4\/4 100% released 1000 applied 1000 failed 0 pending 0 state completed$/);
      expect(run.stdout).not.toContain("\u001b");
      expect(done.requests.map((r) => `${r.method} ${r.path}`)).toEqual(Array(3).fill("GET /api/rollouts/7"));

      const halted = await sequence(running, rolloutFixture({ state: "halted" }));
      const stopped = await rolloutHere(["status", "7", "--watch", "--interval", "0.2", "--server", halted.url]);
      expect(stopped.code).toBe(4);
      expect(stopped.stdout).toMatch(/state halted\n$/);
    },
    CLI_TEST_MS,
  );

  it.skipIf(!hasScript)(
    "watches on a terminal (a real pseudo-terminal): the frame redrawn in place, bars, exit 0 when completed",
    async () => {
      const server = await sequence(running, completed);
      // stty gives the pseudo-terminal a width; script -e passes on the command's exit status.
      const line = `stty cols 100; exec ${process.execPath} ${ROLLOUT_BIN} status 7 --watch --interval 0.2 --server ${server.url}`;
      const run = await start("script", ["-qefc", line, "/dev/null"]).finished;
      expect(run.code).toBe(0);
      const out = run.stdout.replaceAll("\r\n", "\n");
      expect(out).toContain('rollout 7 "firmware 1.4.2"  running');
      // 15 lines: header, two rules, a row and a bar per wave, the totals' label, bar, counts, legend.
      expect(out).toContain("\u001b[15F\u001b[J");
      expect(out).toContain('rollout 7 "firmware 1.4.2"  completed');
      // 100 columns: every bar 58 wide, leaving room for a wave's counts after it.
      expect(out).toMatch(/\[#{58}\] released 1000\/1000/);
      expect(out).toMatch(/\[#+x+-+\.+\] released 100\/1000/);
      expect(out).toMatch(/\[#+x+\] applied {3}9 {2}failed {3}1 {2}pending {3}0/);
      expect(out).toMatch(/\[#+x-+\] applied {2}71 {2}failed {3}2 {2}pending {2}17/);
      expect(out).toMatch(/\[#{58}\] applied 500 {2}failed {3}0 {2}pending {3}0/);
    },
    CLI_TEST_MS,
  );

  it("is package.json's iot-rollout, and prints its usage with the exit statuses", async () => {
    const help = await rollout(["--help"]);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toContain("Usage: iot-rollout create");
    expect(help.stdout).toMatch(/Exit status[^\n]*\n {2}0 {2}done.*\n {2}1 .*\n {2}2 .*\n {2}3 .*\n {2}4 /);
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string> };
    expect(pkg.bin["iot-rollout"]).toBe("bin/iot-rollout.mjs");
    await access(ROLLOUT_BIN, constants.X_OK);
    expect(await readFile(ROLLOUT_BIN, "utf8")).toMatch(/^#!\/usr\/bin\/env node\n/);
  });
});
