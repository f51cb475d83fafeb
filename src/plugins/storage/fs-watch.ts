/**
 * Watches the data directories so that a change made by anything else (an operator's
 * editor, a sync job, another server on the same volume) is seen at once rather than at
 * the next revalidation (fs-cache.ts, REVALIDATE_MS). Watching is an accelerator, not
 * the guarantee: where it cannot be set up or stops (network filesystems, inotify
 * limits), the revalidation bound still holds.
 */
import { type FSWatcher, watch } from "node:fs";
import { errorFields, type Logger } from "../../core/logger.js";
import type { Area } from "../../core/storage.js";
import { isTempName } from "./fs-util.js";

/** `name` undefined: something in the area changed, but the platform did not say what. */
export type ChangeListener = (area: Area, name: string | undefined) => void;

export interface DirectoryWatch {
  /** Whether changes made by others in `area` are being reported (false once the watcher failed). */
  watching(area: Area): boolean;
  stop(): void;
}

export function watchDirectories(dirs: Record<Area, string>, onChange: ChangeListener, logger: Logger): DirectoryWatch {
  const watchers: FSWatcher[] = [];
  const watched = new Set<Area>();
  for (const area of Object.keys(dirs) as Area[]) {
    try {
      // Not persistent: a watcher must never keep a process alive on its own.
      const watcher = watch(dirs[area], { persistent: false }, (_event, filename) => {
        const name = filename === null || filename === undefined ? undefined : String(filename);
        // Our own in-flight writes come and go there; only finished files matter.
        if (name !== undefined && isTempName(name)) return;
        onChange(area, name);
      });
      watcher.on("error", (error) => {
        logger.warn("stopped watching a data directory; changes made by others are now seen within 1 s", {
          area,
          ...errorFields(error),
        });
        watched.delete(area);
        onChange(area, undefined);
      });
      watchers.push(watcher);
      watched.add(area);
    } catch (error) {
      logger.info("cannot watch a data directory; changes made by others are seen within 1 s", {
        area,
        ...errorFields(error),
      });
    }
  }
  return {
    watching: (area) => watched.has(area),
    stop() {
      watched.clear();
      for (const watcher of watchers) watcher.close();
    },
  };
}
