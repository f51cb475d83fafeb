/** One section of BENCHMARKS.md: what runs, the commands that run it alone, and its prose. */
import type { Figures } from "./figures.js";

export interface Section {
  title: string;
  /** Shell lines (with comments) that produce the section's figures on their own. */
  commands: string[];
  /** How it is measured, before the table; `f` holds every figure of the run. */
  about(f: Figures): string[];
  /** What the figures say, after the table: numbers only from `f`. */
  notes?(f: Figures): string[];
  /** Runs the benchmarks; returns their lines (stats.ts report()). */
  run(): Promise<string[]>;
}
