/**
 * A rollout as text: the frame a terminal redraws (one row per wave, a bar of the released
 * devices), the plain line a log gets, and what create and the actions print. Pure: no
 * escape codes here (rollout-watch.ts adds the cursor movements on a TTY), and every string
 * the server sent passes forTerminal, since a rollout's name is anyone's text.
 *
 * Each wave is a row saying what it releases and when, and under it a bar of its devices by
 * outcome (from the server's per-wave `counts`, an extension of SPEC's wave); the last bar
 * splits every target the same way, against those not yet released. Every bar of a frame has
 * the same width, so the waves compare at a glance. A server without per-wave counts gets
 * the rows without their bars.
 */
import type { RolloutCounts, RolloutView, RolloutWave } from "../features/rollouts/contract.js";
import { forTerminal, MAX_NAME_CHARS } from "./terminal-text.js";

/** The bar's characters: three outcomes of released devices, and the targets not released yet. */
export const BAR = { applied: "#", failed: "x", pending: "-", waiting: "." } as const;
export const LEGEND = `${BAR.applied} applied  ${BAR.failed} failed  ${BAR.pending} pending  ${BAR.waiting} not released`;

const MIN_BAR = 10;
const MAX_BAR = 60;
/** Room the bar's row keeps for its label and counts. */
const BAR_ROW_TEXT = 30;
/** A name longer than this is cut (with a note of how much): it is one field of a row. */
const MAX_NAME_SHOWN = 80;

export const nameShown = (view: RolloutView) => `"${forTerminal(view.name, MAX_NAME_SHOWN)}"`;
const text = (s: string) => forTerminal(s, MAX_NAME_CHARS);

/** The bar's width for a terminal this wide; the same for every redraw at that width. */
export function barWidth(columns: number): number {
  return Math.max(MIN_BAR, Math.min(MAX_BAR, columns - BAR_ROW_TEXT));
}

/**
 * `width` characters: applied, failed, pending, then not released, each in proportion to the
 * targets; an outcome with any device gets at least one character (one failure in 10,000
 * must show), taken from the widest part.
 */
export function bar(counts: RolloutCounts, width: number): string {
  const parts = [counts.applied, counts.failed, counts.pending, Math.max(0, counts.targets - counts.released)];
  const total = parts.reduce((a, b) => a + b, 0);
  if (total === 0) return BAR.waiting.repeat(width);
  const cells = parts.map((n) => Math.floor((n * width) / total));
  // Largest remainders first, so the cells add up to the width.
  const order = parts.map((n, i) => ({ i, rest: (n * width) % total })).sort((a, b) => b.rest - a.rest);
  for (let k = 0, left = width - cells.reduce((a, b) => a + b, 0); left > 0; k++, left--) {
    const at = order[k % order.length]?.i as number;
    cells[at] = (cells[at] as number) + 1;
  }
  for (let i = 0; i < 3; i++) {
    if ((parts[i] as number) > 0 && cells[i] === 0) {
      const widest = cells.indexOf(Math.max(...cells));
      cells[widest] = (cells[widest] as number) - 1;
      cells[i] = 1;
    }
  }
  const [a, f, p, w] = cells as [number, number, number, number];
  return BAR.applied.repeat(a) + BAR.failed.repeat(f) + BAR.pending.repeat(p) + BAR.waiting.repeat(w);
}

/** `n` as a share of `of`, whole percent rounded down (so 99.9% is not shown as done). */
export const percentOf = (n: number, of: number) => (of === 0 ? 0 : Math.floor((n * 100) / of));

/** The last wave released, 1-based (0 before any), and how many waves there are. */
export function currentWave(view: RolloutView): { k: number; of: number; percent: number } {
  let k = 0;
  view.waves.forEach((w, i) => {
    if (w.released_at !== null) k = i + 1;
  });
  return { k, of: view.waves.length, percent: k === 0 ? 0 : (view.waves[k - 1]?.percent ?? 0) };
}

/** What decides the rollout: the thresholds, then what counts as applied and failed. */
export function rules(view: RolloutView): [string, string] {
  return [
    `next wave at ${view.advance_when.applied_percent}% applied, halt at ${view.halt_when.failed_percent}% failed (of the released)`,
    `evidence ${view.evidence}; failed if not applied within ${view.advance_when.within_s} s`,
  ];
}

/**
 * A wave's counts after its bar, each number padded to the largest wave's digits, so the text
 * (and with it the bar's width) stays the same from one redraw to the next.
 */
function waveCountsText(wave: RolloutWave, digits: number): string {
  const c = wave.counts;
  if (!c || c.released === 0) return "";
  const n = (v: number) => String(v).padStart(digits);
  return ` applied ${n(c.applied)}  failed ${n(c.failed)}  pending ${n(c.pending)}`;
}

/**
 * The width of every bar in a frame: barWidth(columns), narrower when the widest wave's counts
 * would not fit after it on one line (a wrapped line breaks the redraw).
 */
export function frameBarWidth(view: RolloutView, columns: number): number {
  const digits = String(Math.max(0, ...view.waves.map((w) => w.devices))).length;
  const text = ` applied ${"0".repeat(digits)}  failed ${"0".repeat(digits)}  pending ${"0".repeat(digits)}`.length;
  return Math.max(MIN_BAR, Math.min(barWidth(columns), columns - 1 - "  []".length - text));
}

/** A wave's bar: its devices applied / failed / pending, or all not released. */
const waveBar = (wave: RolloutWave, counts: NonNullable<RolloutWave["counts"]>, width: number) =>
  bar({ targets: wave.devices, ...counts }, width);

/** The frame of a rollout as a terminal shows it: header, each wave's row and bar, the totals' bar and counts. */
export function frame(view: RolloutView, columns: number, at: Date): string[] {
  const { counts } = view;
  const of = view.waves.length;
  const width = frameBarWidth(view, columns);
  const digits = String(Math.max(0, ...view.waves.map((w) => w.devices))).length;
  const rows = view.waves.flatMap((w, i) => {
    const when = w.released_at === null ? "not released" : `released ${text(w.released_at)}`;
    const row = `  wave ${`${i + 1}/${of}`.padEnd(5)} ${`${w.percent}%`.padStart(4)} ${String(w.devices).padStart(7)} devices  ${when}`;
    return w.counts ? [row, `  [${waveBar(w, w.counts, width)}]${waveCountsText(w, digits)}`] : [row];
  });
  const share = (n: number) => `${n} (${percentOf(n, counts.released)}%)`;
  const lines = [
    `rollout ${text(view.id)} ${nameShown(view)}  ${view.state}  (as of ${isoSeconds(at)})`,
    ...rules(view).map((clause) => `  ${clause}`),
    ...rows,
    "  all waves",
    `  [${bar(counts, width)}] released ${counts.released}/${counts.targets}`,
    `  applied ${share(counts.applied)}  failed ${share(counts.failed)}  pending ${share(counts.pending)}`,
    `  ${LEGEND}`,
  ];
  // A line wider than the terminal wraps, and the redraw would then move up too few lines.
  const max = Math.max(20, columns - 1);
  return lines.map((line) => ([...line].length > max ? `${[...line].slice(0, max - 1).join("")}…` : line));
}

/** One plain line, for a log: what changed is seen by comparing lines. */
export function plainLine(view: RolloutView): string {
  const { k, of, percent } = currentWave(view);
  const c = view.counts;
  return `wave ${k}/${of} ${percent}% released ${c.released} applied ${c.applied} failed ${c.failed} pending ${c.pending} state ${view.state}`;
}

/** ISO 8601 UTC to the second: what a log line starts with. */
export const isoSeconds = (at: Date) => at.toISOString().replace(/\.\d{3}Z$/, "Z");

/** What `create` prints. */
export function createdText(view: RolloutView): string {
  const id = text(view.id);
  const waves = view.waves.map((w) => `${w.percent}%: ${w.devices}`).join(", ");
  return [
    `created rollout ${id} ${nameShown(view)}: ${view.counts.targets} targets in ${view.waves.length} waves (${waves} devices)`,
    `${view.state}, wave 1 released${view.waves[0]?.released_at ? ` at ${text(view.waves[0].released_at)}` : ""}`,
    ...rules(view),
    `watch it: iot-rollout status ${id} --watch`,
    "",
  ].join("\n");
}

/** What `list` prints: one row per rollout, newest first as the server sends them. */
export function listText(views: RolloutView[]): string {
  if (views.length === 0) return "no rollouts\n";
  const head = `${"ID".padStart(9)}  ${"STATE".padEnd(11)}  ${"WAVE".padEnd(5)}  ${"RELEASED".padStart(13)}  ${"APPLIED".padStart(7)}  ${"FAILED".padStart(6)}  ${"CREATED".padEnd(24)}  NAME`;
  const rows = views.map((v) => {
    const { k, of } = currentWave(v);
    const c = v.counts;
    return `${text(v.id).padStart(9)}  ${v.state.padEnd(11)}  ${`${k}/${of}`.padEnd(5)}  ${`${c.released}/${c.targets}`.padStart(13)}  ${String(c.applied).padStart(7)}  ${String(c.failed).padStart(6)}  ${text(v.created_at).padEnd(24)}  ${nameShown(v)}`;
  });
  return `${[head, ...rows].join("\n")}\n`;
}

const DONE: Record<string, string> = { pause: "paused", resume: "resumed", abort: "aborted", rollback: "rolled back" };

/** What pause, resume, abort and rollback print: the new state; a rollback also the devices it left alone. */
export function actedText(view: RolloutView, action: string): string {
  const head = `rollout ${text(view.id)} ${nameShown(view)} ${DONE[action] ?? action}: state ${view.state}; ${plainLine(view)}`;
  if (action !== "rollback") return `${head}\n`;
  const skipped = view.details?.skipped ?? [];
  if (skipped.length === 0) return `${head}\nevery released device got its previous config back; none skipped\n`;
  return (
    `${head}\n${skipped.length} device(s) skipped, left as they are: their config changed after the rollout wrote it\n` +
    skipped.map((mac) => `  ${text(mac)}\n`).join("")
  );
}
