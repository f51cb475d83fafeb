/**
 * Upload progress on stderr. On a terminal, one line redrawn in place with `\r`;
 * elsewhere (a CI log, a file), plain lines, no `\r` and no ANSI codes, at most one
 * per 10% or per 5 s, so a log stays readable. The clock is passed in.
 */
import { formatBytes, formatDuration, formatRate } from "./units.js";

export interface Progress {
  /** The body starts going out. */
  start(total: number): void;
  /** `sent` bytes of the body have been handed to the connection; ignored once finished. */
  update(sent: number): void;
  /** The server answered, or the request failed: finish the line. */
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
/** Erase to the end of the line, so a shorter redraw leaves no tail of the previous one. */
const ERASE_LINE_END = "\x1b[K";

export function createProgress(options: ProgressOptions): Progress {
  if (options.mode === "quiet") return { start() {}, update() {}, finish() {} };
  return options.mode === "tty" ? ttyProgress(options) : lineProgress(options);
}

interface Snapshot {
  percent: number;
  text: string;
}

/** Percent, bytes, rate and ETA since `startedAt`. */
function snapshot(sent: number, total: number, startedAt: number, now: number): Snapshot {
  const percent = total === 0 ? 100 : Math.floor((sent / total) * 100);
  const seconds = (now - startedAt) / 1000;
  const rate = seconds > 0 ? sent / seconds : Number.NaN;
  const eta = rate > 0 ? (total - sent) / rate : Number.POSITIVE_INFINITY;
  const rateText = Number.isNaN(rate) ? "--/s" : formatRate(rate);
  return {
    percent,
    text: `${String(percent).padStart(3)}% ${formatBytes(sent)} / ${formatBytes(total)}  ${rateText}  ETA ${formatDuration(eta)}`,
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
  let finished = false;
  const draw = () => {
    const s = snapshot(sent, total, startedAt, now());
    const width = Math.max(10, Math.min(30, lineWidth - s.text.length - label.length - 6));
    const filled = Math.round((Math.min(s.percent, 100) / 100) * width);
    write(`\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${s.text}${ERASE_LINE_END}`);
    lastPercent = s.percent;
    lastDraw = now();
  };
  return {
    start(bytes) {
      total = bytes;
      startedAt = now();
      draw();
    },
    update(bytes) {
      // fetch may still pull a chunk after it failed; the line is already closed.
      if (finished) return;
      sent = bytes;
      // Every whole percent, and otherwise often enough that rate and ETA stay live on a slow link.
      const percent = total === 0 ? 100 : Math.floor((sent / total) * 100);
      if (percent !== lastPercent || now() - lastDraw >= TTY_REDRAW_MS) draw();
    },
    finish() {
      if (finished) return;
      finished = true;
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
  let finished = false;
  return {
    start(bytes) {
      total = bytes;
      startedAt = now();
      lastLine = startedAt;
      write(`${label}: uploading ${formatBytes(total)}\n`);
    },
    update(bytes) {
      if (finished) return;
      sent = bytes;
      const s = snapshot(sent, total, startedAt, now());
      const step = Math.floor(s.percent / LINE_EVERY_PERCENT);
      // 100% is left to finish(), which says how long the whole body took.
      if (s.percent < 100 && (step > lastStep || now() - lastLine >= LINE_EVERY_MS)) {
        write(`${label}: ${s.text}\n`);
        lastStep = step;
        lastLine = now();
      }
    },
    finish() {
      if (finished) return;
      finished = true;
      const seconds = (now() - startedAt) / 1000;
      const rate = seconds > 0 ? ` (${formatRate(sent / seconds)})` : "";
      write(`${label}: sent ${formatBytes(sent)} of ${formatBytes(total)} in ${formatDuration(seconds)}${rate}\n`);
    },
  };
}
