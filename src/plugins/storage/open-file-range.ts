/** What the filesystem driver puts in `StoredObject.native`: an open file and the byte range to send. */
import type { FileHandle } from "node:fs/promises";

export interface OpenFileRange {
  kind: "open-file";
  handle: FileHandle;
  /** First byte to send. */
  start: number;
  /** One past the last byte to send. */
  end: number;
}

export const isOpenFileRange = (value: unknown): value is OpenFileRange =>
  typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "open-file";
