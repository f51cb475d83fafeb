/**
 * The data directories of the filesystem runtimes (Node, Deno, Bun), checked at boot so
 * that an unusable one stops the process with one line naming its variable, and so that
 * a private key can never sit where a device read or a static file server would serve it.
 * Every check here also runs before the directories exist (checkDataDirectories), so a boot
 * refused for any reason creates none of them.
 */
import { constants, type Stats } from "node:fs";
import { access, mkdir, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, normalize, resolve } from "node:path";
import type { CoreSettings } from "../core/settings.js";
import { SettingsError } from "../core/settings.js";
import { assertSeparateDirectories, canonicalPath, isWithin } from "./data-dir-layout.js";

/** The errno code, or the error's name where a runtime gives none (Deno's NotCapable, for one). */
const codeOf = (error: unknown) =>
  (error as { code?: string }).code ?? (error instanceof Error ? error.name : "unknown error");

const notADirectory = () => Object.assign(new Error("not a directory"), { code: "ENOTDIR" });

const unusable = (dir: string, variable: string, error: unknown) =>
  new SettingsError(variable, `cannot use "${dir}" as a readable, writable directory (${codeOf(error)})`);

/** Its stat, or undefined where nothing is (a file in the way of a path is ENOTDIR, not ENOENT). */
const statIfThere = (path: string): Promise<Stats | undefined> =>
  stat(path).catch((error: unknown) => {
    if (codeOf(error) === "ENOENT") return undefined;
    throw error;
  });

/** Creates a directory if missing and checks it can be read and written; names `variable` if not. */
export async function prepareDirectory(dir: string, variable: string): Promise<void> {
  try {
    // A file in the way would make mkdir say EEXIST; say what is wrong instead.
    const existing = await statIfThere(dir);
    if (existing && !existing.isDirectory()) throw notADirectory();
    if (!existing) await mkdir(dir, { recursive: true });
    if (!(await stat(dir)).isDirectory()) throw notADirectory();
    await access(dir, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw unusable(dir, variable, error);
  }
}

/**
 * What prepareDirectory would refuse, found without creating anything: an existing
 * directory must be readable and writable; a missing one must be creatable, that is, its
 * nearest existing ancestor a directory this process may create entries in.
 */
export async function checkDirectory(dir: string, variable: string): Promise<void> {
  try {
    const existing = await statIfThere(dir);
    if (existing) {
      if (!existing.isDirectory()) throw notADirectory();
      await access(dir, constants.R_OK | constants.W_OK);
      return;
    }
    for (let parent = dirname(resolve(dir)); ; parent = dirname(parent)) {
      const found = await statIfThere(parent);
      if (found) {
        if (!found.isDirectory()) throw notADirectory();
        await access(parent, constants.W_OK | constants.X_OK);
        return;
      }
      // The root always exists; this only ends the loop should a runtime say otherwise.
      if (dirname(parent) === parent) return;
    }
  } catch (error) {
    throw unusable(dir, variable, error);
  }
}

/**
 * The directories a boot prepares, each with the variable to name. DATA_DIR is one of them
 * when a directory lies under it (the defaults do: a broken DATA_DIR is then named as such),
 * and when no key is configured, since the development key is generated there.
 */
function directoriesOf(settings: CoreSettings): Array<[string, string]> {
  const dirs: Array<[string, string]> = [
    [settings.configsDir, "ESP32_CONFIGS_DIR"],
    [settings.assetsDir, "ASSETS_DIR"],
    [settings.stateDir, "STATE_DIR"],
  ];
  const underDataDir = dirs.some(([dir]) => isWithin(normalize(dir), normalize(settings.dataDir)));
  const devKey = !settings.signingKey && !settings.signingKeyPath;
  return underDataDir || devKey ? [[settings.dataDir, "DATA_DIR"], ...dirs] : dirs;
}

/** Everything prepareDataDirectories would refuse, found without creating anything. */
export async function checkDataDirectories(settings: CoreSettings): Promise<void> {
  await assertSeparateDirectories(settings);
  for (const [dir, variable] of directoriesOf(settings)) await checkDirectory(dir, variable);
}

export async function prepareDataDirectories(settings: CoreSettings): Promise<void> {
  // Before anything is created: a refused layout leaves nothing behind.
  await assertSeparateDirectories(settings);
  for (const [dir, variable] of directoriesOf(settings)) await prepareDirectory(dir, variable);
}

/**
 * Where a key file is, both as named (its folder resolved, as far as it exists) and, when it
 * is a link, where the link leads: a static file server that follows links would serve either.
 */
async function keyLocations(path: string): Promise<string[]> {
  const named = join(await canonicalPath(dirname(path)), basename(path));
  const target = await realpath(path).catch((error: unknown) => {
    // Not there yet (the development key is generated after this check).
    if (codeOf(error) === "ENOENT") return named;
    throw error;
  });
  return named === target ? [named] : [named, target];
}

/**
 * Refuses a private key file inside, or anywhere below, a served directory: device reads
 * serve those directories' files, and a static file server may serve their whole tree.
 */
export async function assertNotServed(keyPath: string, variable: string, settings: CoreSettings): Promise<void> {
  const locations = await keyLocations(keyPath);
  for (const [dir, served] of [
    [settings.configsDir, "ESP32_CONFIGS_DIR"],
    [settings.assetsDir, "ASSETS_DIR"],
  ] as const) {
    // Resolved as far as it exists: this runs before the directories are created.
    const root = await canonicalPath(dir);
    const inside = locations.find((key) => isWithin(key, root));
    if (inside) {
      throw new SettingsError(
        variable,
        `the private signing key ${inside} would be inside ${served} (${root}), which is served to devices; ` +
          `keep private keys outside ESP32_CONFIGS_DIR and ASSETS_DIR`,
      );
    }
  }
}
