/**
 * How iot-rollout shows a rollout (src/cli/rollout-render.ts, rollout-watch.ts, rollout-json.ts),
 * from rollouts built by hand in SPEC's shape: the bar at several widths, the frame a terminal
 * redraws, the plain line a log gets, and a hostile name that must reach no terminal raw.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CliError } from "../src/cli/errors.js";
import { jsonLine } from "../src/cli/rollout-json.js";
import { actedText, BAR, bar, barWidth, createdText, frame, listText, plainLine } from "../src/cli/rollout-render.js";
import { MAX_MISSES, watchRollout } from "../src/cli/rollout-watch.js";
import type { RolloutView } from "../src/features/rollouts/contract.js";
import { rolloutFixture, withoutWaveCounts } from "./support/rollout-fixture.js";
import { ROOT } from "./support/server.js";

/** What a terminal would obey: controls (C0, DEL, C1), format characters (bidi overrides), separators. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;
const HOSTILE = "\u001b]0;owned\u0007\u001b[2J\u009b31m\u202egnp.exe\u2028next";
const AT = new Date("2026-07-04T12:00:15.250Z");

const count = (text: string, char: string) => [...text].filter((c) => c === char).length;

describe("the bar", () => {
  it.each([40, 80, 120, 300])("is as wide as its terminal allows (%i columns) and splits the targets", (columns) => {
    const width = barWidth(columns);
    expect(width).toBe(Math.max(10, Math.min(60, columns - 30)));
    const drawn = bar(rolloutFixture().counts, width);
    expect([...drawn]).toHaveLength(width);
    // 1,000 targets: 80 applied, 3 failed, 17 pending, 900 not released, in that order.
    expect(drawn).toMatch(/^#+x+-+\.+$/);
    expect(count(drawn, BAR.waiting)).toBeGreaterThanOrEqual(Math.floor(width * 0.9) - 2);
  });

  it("shows one failed device in 10,000 (every outcome with a device gets a character)", () => {
    const drawn = bar({ targets: 10_000, released: 10_000, applied: 9_998, failed: 1, pending: 1 }, 10);
    expect(drawn).toBe("########x-");
  });

  it("is all applied when complete, all not released with no targets", () => {
    expect(bar({ targets: 5, released: 5, applied: 5, failed: 0, pending: 0 }, 12)).toBe("#".repeat(12));
    expect(bar({ targets: 0, released: 0, applied: 0, failed: 0, pending: 0 }, 12)).toBe(".".repeat(12));
  });
});

describe("the frame, the line and the summaries", () => {
  it("shows the state, each wave's row and bar, the totals' bar and the counts with their share of the released", () => {
    const lines = frame(rolloutFixture(), 100, AT);
    expect(lines[0]).toBe('rollout 7 "firmware 1.4.2"  running  (as of 2026-07-04T12:00:15Z)');
    expect(lines[1]).toBe("  next wave at 90% applied, halt at 10% failed (of the released)");
    expect(lines[2]).toBe("  evidence report; failed if not applied within 600 s");
    // 100 columns: the bars leave room for the widest wave's counts (3 digits each) on one line.
    const width = 99 - 4 - " applied 000  failed 000  pending 000".length;
    expect(lines.slice(3, 11)).toEqual([
      "  wave 1/4     1%      10 devices  released 2026-07-04T12:00:00.000Z",
      `  [${"#".repeat(52)}${"x".repeat(6)}] applied   9  failed   1  pending   0`,
      "  wave 2/4    10%      90 devices  released 2026-07-04T12:00:09.000Z",
      `  [${"#".repeat(46)}x${"-".repeat(11)}] applied  71  failed   2  pending  17`,
      "  wave 3/4    50%     400 devices  not released",
      `  [${".".repeat(width)}]`,
      "  wave 4/4   100%     500 devices  not released",
      `  [${".".repeat(width)}]`,
    ]);
    expect(lines[11]).toBe("  all waves");
    expect(lines[12]).toMatch(/^ {2}\[#+x+-+\.+\] released 100\/1000$/);
    expect(lines[12]?.indexOf("]")).toBe(width + 3);
    expect(lines[13]).toBe("  applied 80 (80%)  failed 3 (3%)  pending 17 (17%)");
    expect(lines[14]).toBe("  # applied  x failed  - pending  . not released");
    expect(lines).toHaveLength(15);
  });

  it.each([40, 80, 120, 300])(
    "draws every bar of a frame the same width at %i columns, each wave against its own devices",
    (columns) => {
      const lines = frame(rolloutFixture(), columns, AT);
      const bars = lines.filter((l) => l.startsWith("  [")).map((l) => l.slice(3, l.indexOf("]")));
      expect(bars).toHaveLength(5);
      expect(new Set(bars.map((b) => b.length)).size).toBe(1);
      // Wave 1: 9 applied, 1 failed of 10; wave 2: 71, 2, 17 of 90; waves 3 and 4 not released.
      expect(bars[0]).toMatch(/^#+x+$/);
      expect(bars[1]).toMatch(/^#+x+-+$/);
      expect(bars[2]).toMatch(/^\.+$/);
      expect(bars[3]).toMatch(/^\.+$/);
      expect(bars[4]).toMatch(/^#+x+-+\.+$/);
      // The same width on every redraw, whatever the counts become.
      const later = rolloutFixture({
        waves: rolloutFixture().waves.map((w) => ({
          ...w,
          released_at: "2026-07-04T12:01:00.000Z",
          counts: { released: w.devices, applied: w.devices, failed: 0, pending: 0 },
        })),
      });
      const laterBars = frame(later, columns, AT).filter((l) => l.startsWith("  ["));
      expect(laterBars.map((l) => l.indexOf("]"))).toEqual(
        lines.filter((l) => l.startsWith("  [")).map((l) => l.indexOf("]")),
      );
    },
  );

  it("shows a failed wave's bar with its failures even when they are one device in many", () => {
    const view = rolloutFixture({
      waves: [
        {
          percent: 100,
          devices: 5000,
          released_at: AT.toISOString(),
          counts: { released: 5000, applied: 4998, failed: 1, pending: 1 },
        },
      ],
      counts: { targets: 5000, released: 5000, applied: 4998, failed: 1, pending: 1 },
    });
    const row = frame(view, 80, AT)[4] as string;
    expect(row).toMatch(/^ {2}\[#+x-\] applied 4998 {2}failed {4}1 {2}pending {4}1$/);
  });

  it("without per-wave counts (a server without the extension) shows the rows and only the totals' bar", () => {
    const lines = frame(withoutWaveCounts(rolloutFixture()), 100, AT);
    expect(lines.slice(3, 7)).toEqual([
      "  wave 1/4     1%      10 devices  released 2026-07-04T12:00:00.000Z",
      "  wave 2/4    10%      90 devices  released 2026-07-04T12:00:09.000Z",
      "  wave 3/4    50%     400 devices  not released",
      "  wave 4/4   100%     500 devices  not released",
    ]);
    expect(lines.filter((l) => l.startsWith("  ["))).toHaveLength(1);
    expect(lines[8]).toMatch(/released 100\/1000$/);
  });

  it('is the frame README\'s "Watching a rollout" shows (this fixture on 80 columns)', async () => {
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    const shown = /<!-- readme-test: rollout-frame -->\n```text\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(shown).toBe(`${frame(rolloutFixture(), 80, AT).join("\n")}\n`);
  });

  it("never draws a line wider than the terminal (a redraw moves up by lines)", () => {
    for (const columns of [20, 40, 60]) {
      for (const line of frame(rolloutFixture({ name: "n".repeat(500) }), columns, AT)) {
        expect([...line].length).toBeLessThan(Math.max(21, columns));
      }
    }
  });

  it("says in one plain line where the rollout stands", () => {
    expect(plainLine(rolloutFixture())).toBe("wave 2/4 10% released 100 applied 80 failed 3 pending 17 state running");
  });

  it("escapes a hostile name everywhere it is shown, and keeps it intact in JSON", () => {
    const view = rolloutFixture({ name: HOSTILE, details: { skipped: [`aa-bb-cc-dd-ee-01${HOSTILE}`] } });
    const shown = [
      frame(view, 80, AT).join("\n"),
      plainLine(view),
      createdText(view),
      listText([view]),
      actedText(view, "rollback"),
    ];
    for (const text of shown) {
      expect(UNSAFE.test(text.replaceAll("\n", ""))).toBe(false);
    }
    expect(frame(view, 200, AT)[0]).toContain('"\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202egnp.exe\\u2028next"');
    const json = jsonLine(view);
    expect(UNSAFE.test(json.slice(0, -1))).toBe(false);
    expect(JSON.parse(json)).toEqual(view);
  });

  it("prints the id and a summary for create, the state for an action, the skipped MACs for a rollback", () => {
    const created = createdText(rolloutFixture());
    expect(created.split("\n")[0]).toBe(
      'created rollout 7 "firmware 1.4.2": 1000 targets in 4 waves (1%: 10, 10%: 90, 50%: 400, 100%: 500 devices)',
    );
    expect(created).toContain("watch it: iot-rollout status 7 --watch");
    expect(actedText(rolloutFixture({ state: "paused" }), "pause")).toMatch(
      /^rollout 7 "firmware 1.4.2" paused: state paused; wave 2\/4/,
    );
    const rolledBack = rolloutFixture({
      state: "rolled_back",
      details: { skipped: ["aa-bb-cc-dd-ee-02", "aa-bb-cc-dd-ee-09"] },
    });
    expect(actedText(rolledBack, "rollback")).toContain(
      "2 device(s) skipped, left as they are: their config changed after the rollout wrote it\n  aa-bb-cc-dd-ee-02\n  aa-bb-cc-dd-ee-09\n",
    );
    expect(actedText(rolloutFixture({ state: "rolled_back", details: { skipped: [] } }), "rollback")).toContain(
      "none skipped",
    );
  });

  it("lists rollouts one per row, or says there are none", () => {
    const text = listText([rolloutFixture(), rolloutFixture({ id: "6", state: "completed", name: "older" })]);
    const rows = text.trimEnd().split("\n");
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatch(
      /^\s+7 {2}running\s+2\/4\s+100\/1000\s+80\s+3 {2}2026-07-04T12:00:00.000Z\s+"firmware 1.4.2"$/,
    );
    expect(rows[2]).toMatch(/^\s+6 {2}completed/);
    expect(listText([])).toBe("no rollouts\n");
  });
});

/** A watch over a sequence of polls: each a rollout, or an error thrown by the poll. */
async function watch(polls: Array<RolloutView | Error>, tty?: number, json = false) {
  let out = "";
  let err = "";
  let at = AT.getTime();
  let i = 0;
  const final = await watchRollout({
    get: async () => {
      const next = polls[Math.min(i++, polls.length - 1)] as RolloutView | Error;
      if (next instanceof Error) throw next;
      return next;
    },
    write: (t) => {
      out += t;
    },
    warn: (t) => {
      err += t;
    },
    clock: () => new Date(at),
    sleep: async (ms) => {
      at += ms;
    },
    tty: tty === undefined ? undefined : { columns: () => tty },
    json,
    intervalMs: 1000,
  }).catch((error: unknown) => error);
  return { final, out, err, polls: i };
}

describe("status --watch", () => {
  const running = rolloutFixture();
  const wave3 = rolloutFixture({
    waves: running.waves.map((w, k) => (k === 2 ? { ...w, released_at: "2026-07-04T12:00:20.000Z" } : w)),
    counts: { targets: 1000, released: 500, applied: 460, failed: 3, pending: 37 },
  });
  const done = rolloutFixture({
    state: "completed",
    waves: running.waves.map((w) => ({ ...w, released_at: w.released_at ?? "2026-07-04T12:01:00.000Z" })),
    counts: { targets: 1000, released: 1000, applied: 1000, failed: 0, pending: 0 },
  });

  it("writes one plain line per change, none for a poll that changed nothing, and stops at a final state", async () => {
    const { final, out, err } = await watch([running, running, wave3, done, running]);
    expect(final).toEqual(done);
    expect(err).toBe("");
    expect(out).toBe(
      [
        "2026-07-04T12:00:15Z wave 2/4 10% released 100 applied 80 failed 3 pending 17 state running",
        "2026-07-04T12:00:17Z wave 3/4 50% released 500 applied 460 failed 3 pending 37 state running",
        "2026-07-04T12:00:18Z wave 4/4 100% released 1000 applied 1000 failed 0 pending 0 state completed",
        "",
      ].join("\n"),
    );
    expect(UNSAFE.test(out.replaceAll("\n", ""))).toBe(false);
  });

  it.each(["halted", "aborted", "rolled_back"] as const)("stops at %s too", async (state) => {
    const { final, polls } = await watch([running, rolloutFixture({ state }), running]);
    expect(final).toMatchObject({ state });
    expect(polls).toBe(2);
  });

  it("on a terminal redraws the frame in place: up by the lines drawn, erase, draw", async () => {
    const { out } = await watch([running, done], 80);
    const first = frame(running, 80, AT);
    const second = frame(done, 80, new Date(AT.getTime() + 1000));
    expect(out).toBe(`${first.join("\n")}\n\x1b[${first.length}F\x1b[J${second.join("\n")}\n`);
  });

  it("with --json writes one JSON object per change", async () => {
    const { out } = await watch([running, running, done], undefined, true);
    expect(
      out
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([running, done]);
  });

  it("tries again after a network failure or a busy server, saying so on stderr; gives up after MAX_MISSES", async () => {
    const network = new CliError("NETWORK", "could not reach the server: nothing is listening at 127.0.0.1:1");
    const busy = new CliError("REFUSED", "the server refused (503 SERVER_BUSY): busy", { retry: {} });
    const recovered = await watch([running, network, busy, done]);
    expect(recovered.final).toEqual(done);
    expect(recovered.err).toContain("poll failed (1 of 10 in a row, trying again): could not reach the server");
    expect(recovered.err).toContain("poll failed (2 of 10 in a row, trying again): the server refused");
    const gone = await watch([running, network]);
    expect(gone.final).toBe(network);
    expect(gone.polls).toBe(1 + MAX_MISSES);
  });

  it("stops at once on a refusal that will not pass (an unknown rollout)", async () => {
    const notFound = new CliError("REFUSED", "the server refused the request for rollout 7 (404 RECORD_NOT_FOUND)");
    const { final, polls } = await watch([notFound, running]);
    expect(final).toBe(notFound);
    expect(polls).toBe(1);
  });
});
