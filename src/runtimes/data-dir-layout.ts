/**
 * The three data directories of the filesystem runtimes must be apart: none equal to
 * another, none inside another. ESP32_CONFIGS_DIR and ASSETS_DIR are both served to
 * devices, each under its own URL, so sharing one directory serves a signed asset named
 * `<mac>.json` as that device's config (and breaks the admin read of it). STATE_DIR is the
 * server's own bookkeeping and is never served: inside a served directory it would be
 * published, and a served directory inside it would put device files among its markers.
 *
 * Paths are compared absolute and, as far as they exist, through realpath, so a second
 * name for the same directory (a symlink, `..`, a trailing slash) is caught too. This runs
 * before any directory is created, so a refused boot leaves nothing behind.
 */
import { realpath } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { type CoreSettings, dataSubdirectory, SettingsError } from "../core/settings.js";

/** Whether `path` is `root` or below it (both absolute and normalised). */
export const isWithin = (path: string, root: string) =>
  path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);

/**
 * `path` made absolute, with its longest existing prefix resolved through links and the
 * rest (directories not created yet) appended as named. A prefix that cannot be resolved
 * for another reason (ENOTDIR, EACCES) leaves the path as named: preparing the directory
 * then says what is wrong with it.
 */
export async function canonicalPath(path: string): Promise<string> {
  const absolute = resolve(path);
  const missing: string[] = [];
  let existing = absolute;
  for (;;) {
    try {
      return join(await realpath(existing), ...missing);
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") return absolute;
      const parent = dirname(existing);
      if (parent === existing) return absolute;
      missing.unshift(basename(existing));
      existing = parent;
    }
  }
}

type Variable = "ESP32_CONFIGS_DIR" | "ASSETS_DIR" | "STATE_DIR";

interface Directory {
  variable: Variable;
  /** As configured, for the message. */
  named: string;
  canonical: string;
  /** Set by the operator rather than derived from DATA_DIR: the one to name when only one is. */
  explicit: boolean;
}

const WHY: Record<"served" | "state", string> = {
  served: "both are served to devices, so a file in one would be served as the other's",
  state: "STATE_DIR is the server's own bookkeeping and must stay apart from what is served",
};

const shown = (dir: Directory) =>
  dir.canonical === resolve(dir.named) ? `"${dir.named}"` : `"${dir.named}" (${dir.canonical})`;

/** Refuses, with one line naming both variables, data directories that are equal or nested. */
export async function assertSeparateDirectories(settings: CoreSettings): Promise<void> {
  const entries: Array<[Variable, string, "configs" | "assets" | "state"]> = [
    ["ESP32_CONFIGS_DIR", settings.configsDir, "configs"],
    ["ASSETS_DIR", settings.assetsDir, "assets"],
    ["STATE_DIR", settings.stateDir, "state"],
  ];
  const dirs: Directory[] = [];
  for (const [variable, named, leaf] of entries) {
    const explicit = resolve(named) !== resolve(dataSubdirectory(settings.dataDir, leaf));
    dirs.push({ variable, named, canonical: await canonicalPath(named), explicit });
  }
  for (let i = 0; i < dirs.length; i++) {
    for (let j = i + 1; j < dirs.length; j++) {
      const [a, b] = [dirs[i] as Directory, dirs[j] as Directory];
      const why = a.variable === "STATE_DIR" || b.variable === "STATE_DIR" ? WHY.state : WHY.served;
      if (a.canonical === b.canonical) {
        // The one the operator set; of two set alike, the later.
        const [named, other] = a.explicit && !b.explicit ? [a, b] : [b, a];
        throw new SettingsError(
          named.variable,
          `${shown(named)} is the same directory as ${other.variable} (${shown(other)}); ${why}: give each its own directory`,
        );
      }
      const [inner, outer] = isWithin(a.canonical, b.canonical)
        ? [a, b]
        : isWithin(b.canonical, a.canonical)
          ? [b, a]
          : [];
      if (!inner || !outer) continue;
      // The one the operator set (ASSETS_DIR=$DATA_DIR holds the defaults below it); of two set alike, the inner.
      const problem =
        outer.explicit && !inner.explicit
          ? { named: outer, text: `${shown(outer)} contains ${inner.variable} (${shown(inner)})` }
          : { named: inner, text: `${shown(inner)} is inside ${outer.variable} (${shown(outer)})` };
      throw new SettingsError(
        problem.named.variable,
        `${problem.text}; ${why}: keep ESP32_CONFIGS_DIR, ASSETS_DIR and STATE_DIR apart, none inside another`,
      );
    }
  }
}
