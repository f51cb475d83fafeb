/**
 * Upload progress on stderr, in the file's bytes (not the multipart form around them). On a
 * terminal, one line redrawn in place with `\r`, as wide at every redraw for a given file size,
 * so the bar stays put; elsewhere (a CI log, a file), plain lines, no `\r` and no ANSI codes,
 * at most one per 10% or per 5 s, so a log stays readable. Nothing is shown before start(),
 * which comes once the connection is up: a request that never connects claims nothing was sent.
 * The clock is passed in.
 */
import { formatBytes, formatBytesLike, formatDuration, formatRate } from "./units.js";

export interface Progress {
  /** The connection is up and the file, of `total` bytes, starts going out. */
  start(total: number): void;
  /** `sent` bytes of the file have been handed to the connection; ignored before start and once finished. */
  update(sent: number): void;
  /** The server answered, or the request failed: finish the line (if one was started). */
  finish(): void;
}

export interface ProgressOptions {
  mode: "tty" | "lines" | "quiet";
  write: (text: string) => void;
  /** Milliseconds, monotonic. */
  now: () => number;
  /** Terminal width, for the bar. */
  columns?: number;
  label: string;
}

const TTY_REDRAW_MS = 200;
const LINE_EVERY_MS = 5000;
const LINE_EVERY_PERCENT = 10;
/** Erase to the end of the line, so a redraw never leaves a tail of an earlier, longer line. */
const ERASE_LINE_END = "\x1b[K";
/** The widest rate formatRate writes below 1024 TiB/s ("1023.9 KiB/s"), and the widest ETA shown ("99h59m"). */
const RATE_WIDTH = 12;
const ETA_WIDTH = 6;
/** An ETA of 100 hours or more is shown as this, which is as wide as the others. */
const ETA_TOO_LONG = ">99h";
const ETA_LIMIT_SECONDS = 100 * 3600;

export function createProgress(options: ProgressOptions): Progress {
  if (options.mode === "quiet") return { start() {}, update() {}, finish() {} };
  return options.mode === "tty" ? ttyProgress(options) : lineProgress(options);
}

interface Snapshot {
  percent: number;
  text: string;
}

/**
 * Percent, bytes, rate and ETA since `startedAt`. Every field is padded to its widest, the
 * count to the width of the total it grows towards, so the text's width depends on `total` only.
 */
function snapshot(sent: number, total: number, startedAt: number, now: number): Snapshot {
  const percent = total === 0 ? 100 : Math.min(100, Math.floor((sent / total) * 100));
  const seconds = (now - startedAt) / 1000;
  const rate = seconds > 0 ? sent / seconds : Number.NaN;
  const eta = rate > 0 ? (total - sent) / rate : Number.POSITIVE_INFINITY;
  const rateText = Number.isNaN(rate) ? "--/s" : formatRate(rate);
  const etaText = eta >= ETA_LIMIT_SECONDS && Number.isFinite(eta) ? ETA_TOO_LONG : formatDuration(eta);
  const totalText = formatBytes(total);
  const sentText = formatBytesLike(sent, total).padStart(totalText.length);
  return {
    percent,
    text: `${String(percent).padStart(3)}% ${sentText} / ${totalText}  ${rateText.padStart(RATE_WIDTH)}  ETA ${etaText.padEnd(ETA_WIDTH)}`,
  };
}

function ttyProgress({ write, now, columns, label }: ProgressOptions): Progress {
  // A pseudo-terminal without a size (e.g. under `script`) reports 0 columns.
  const lineWidth = columns !== undefined && columns > 0 ? columns : 80;
  let total = 0;
  let startedAt = 0;
  let lastPercent = -1;
  let lastDraw = 0;
  let sent = 0;
  /** The bar's cells: fixed at start, from the text's width, which is fixed for the total. */
  let cells = 0;
  let started = false;
  let finished = false;
  const draw = () => {
    const s = snapshot(sent, total, startedAt, now());
    const filled = Math.round((s.percent / 100) * cells);
    write(`\r${label} [${"#".repeat(filled)}${"-".repeat(cells - filled)}] ${s.text}${ERASE_LINE_END}`);
    lastPercent = s.percent;
    lastDraw = now();
  };
  return {
    start(bytes) {
      if (started || finished) return;
      started = true;
      total = bytes;
      startedAt = now();
      const textWidth = snapshot(0, total, startedAt, startedAt).text.length;
      cells = Math.max(10, Math.min(30, lineWidth - textWidth - label.length - 4));
      draw();
    },
    update(bytes) {
      // fetch may still pull a chunk after it failed; the line is already closed.
      if (!started || finished) return;
      sent = bytes;
      // Every whole percent, and otherwise often enough that rate and ETA stay live on a slow link.
      const percent = total === 0 ? 100 : Math.floor((sent / total) * 100);
      if (percent !== lastPercent || now() - lastDraw >= TTY_REDRAW_MS) draw();
    },
    finish() {
      if (finished) return;
      finished = true;
      if (!started) return;
      draw();
      write("\n");
    },
  };
}

function lineProgress({ write, now, label }: ProgressOptions): Progress {
  let total = 0;
  let startedAt = 0;
  let sent = 0;
  let lastStep = 0;
  let lastLine = 0;
  let started = false;
  let finished = false;
  return {
    start(bytes) {
      if (started || finished) return;
      started = true;
      total = bytes;
      startedAt = now();
      lastLine = startedAt;
      write(`${label}: uploading ${formatBytes(total)}\n`);
    },
    update(bytes) {
      if (!started || finished) return;
      sent = bytes;
      const s = snapshot(sent, total, startedAt, now());
      const step = Math.floor(s.percent / LINE_EVERY_PERCENT);
      // 100% is left to finish(), which says how long the whole file took.
      if (s.percent < 100 && (step > lastStep || now() - lastLine >= LINE_EVERY_MS)) {
        write(`${label}: ${s.text.trimEnd()}\n`);
        lastStep = step;
        lastLine = now();
      }
    },
    finish() {
      if (finished) return;
      finished = true;
      if (!started) return;
      const seconds = (now() - startedAt) / 1000;
      const rate = seconds > 0 ? ` (${formatRate(sent / seconds)})` : "";
      write(`${label}: sent ${formatBytes(sent)} of ${formatBytes(total)} in ${formatDuration(seconds)}${rate}\n`);
    },
  };
}
