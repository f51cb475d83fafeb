/**
 * One temporary folder per test file with an empty folder per case inside it (`case-1`,
 * `case-2`, …), removed after the file's tests: for tests whose cases each need a data
 * directory of their own. Registers its own beforeAll/afterAll.
 */
import { mkdir, mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

export interface CaseFolders {
  /** The file's folder (set once beforeAll has run). */
  root(): string;
  /** A fresh, empty folder for one case. */
  next(): Promise<string>;
}

/** `resolved`: the root with links resolved, so expected paths compare equal where tmpdir is under a link. */
export function caseFolders(prefix: string, options: { resolved?: boolean } = {}): CaseFolders {
  let root = "";
  let count = 0;
  beforeAll(async () => {
    const made = await mkdtemp(join(tmpdir(), prefix));
    root = options.resolved ? await realpath(made) : made;
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });
  return {
    root: () => root,
    async next() {
      const dir = join(root, `case-${++count}`);
      await mkdir(dir);
      return dir;
    },
  };
}
