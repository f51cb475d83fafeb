/**
 * The run's figures as data: each benchmark line (`name: value unit (ratio× baseline b unit…)`,
 * stats.ts report()) parsed back, so the prose and the capacity table compute from the
 * same numbers the tables show, never from numbers written into the text.
 */

export interface Figure {
  name: string;
  value: number;
  unit: string;
  ratio: number | undefined;
  baseline: number | undefined;
  /** Everything after "name: ", as the table shows it. */
  text: string;
}

const LINE = /^(.*?): (-?[\d.]+|NaN) (\S+)(?: \(([\d.]+|NaN)× baseline (-?[\d.]+|NaN))?/;

export function parseFigure(line: string): Figure | undefined {
  const match = LINE.exec(line);
  if (!match) return undefined;
  const [, name, value, unit, ratio, baseline] = match as unknown as [string, string, string, string, string?, string?];
  return {
    name,
    value: Number(value),
    unit,
    ratio: ratio === undefined ? undefined : Number(ratio),
    baseline: baseline === undefined ? undefined : Number(baseline),
    text: line.slice(name.length + 2),
  };
}

export class Figures {
  readonly all: Figure[] = [];

  add(lines: string[]): void {
    for (const line of lines) {
      const figure = parseFigure(line);
      if (figure) this.all.push(figure);
    }
  }

  /** The first figure whose name matches; undefined when the run has none. */
  find(pattern: RegExp): Figure | undefined {
    return this.all.find((f) => pattern.test(f.name));
  }

  /** The figure's value, NaN when absent or unmeasured. */
  value(pattern: RegExp): number {
    return this.find(pattern)?.value ?? Number.NaN;
  }

  /** For prose: the value with its unit (and ratio when asked), or "n/a" when the run has no such figure. */
  say(pattern: RegExp, digits = 0, withRatio = false): string {
    const f = this.find(pattern);
    if (!f || !Number.isFinite(f.value)) return "n/a";
    const ratio = withRatio && f.ratio !== undefined ? ` (${f.ratio.toFixed(2)}×)` : "";
    return `${fmt(f.value, digits)} ${f.unit}${ratio}`;
  }
}

/** A number as BENCHMARKS.md prints it: thousands separated, `digits` decimals, "n/a" when not finite. */
export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
