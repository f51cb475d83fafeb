/**
 * Writes to one object, in the order they were asked for. Without it, concurrent writes
 * of one name race inside the driver: each makes its new version visible (a rename, a
 * PUT) and then updates what the process remembers (the filesystem driver's cache), and
 * two of them can do those two steps in opposite orders. The process then serves a
 * version that storage no longer holds until the cache revalidates. Ordered here, the
 * last write to answer is the one storage holds and the one every later read returns.
 *
 * Once for every driver (fs, R2, memory), as STYLE asks of checks common to all: a
 * driver needs no locking of its own. Only this process's writes are ordered; writers in
 * other processes are seen through each driver's own change detection.
 */
import type { Area, StagedWrite, StorageDriver } from "./storage.js";

export function orderWrites(driver: StorageDriver): StorageDriver {
  /** The last queued operation per object; removed once it settles with nothing behind it. */
  const tails = new Map<string, Promise<void>>();

  const inOrder = <T>(area: Area, name: string, work: () => Promise<T>): Promise<T> => {
    const key = `${area}/${name}`;
    const previous = tails.get(key);
    // After the previous one settles, whatever its outcome: a failed write must not block the next.
    const run = previous ? previous.then(work) : work();
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };

  const orderedStage = async (area: Area, name: string): Promise<StagedWrite> => {
    const staged = await driver.stage(area, name);
    // Streaming is not ordered (an upload may take minutes); only the moment it becomes visible is.
    return {
      write: (chunk) => staged.write(chunk),
      digest: () => staged.digest(),
      commit: () => inOrder(area, name, () => staged.commit()),
      abort: () => staged.abort(),
    };
  };

  return {
    ...driver,
    write: (area, name, data, options) => inOrder(area, name, () => driver.write(area, name, data, options)),
    stage: orderedStage,
    remove: (area, name) => inOrder(area, name, () => driver.remove(area, name)),
  };
}
