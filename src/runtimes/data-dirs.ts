/**
 * The data directories of the filesystem runtimes (Node, Deno, Bun), checked at boot so
 * that an unusable one stops the process with one line naming its variable, and so that
 * a private key can never sit where a device read or a static file server would serve it.
 */
import { constants } from "node:fs";
import { access, mkdir, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, normalize } from "node:path";
import type { CoreSettings } from "../core/settings.js";
import { SettingsError } from "../core/settings.js";
import { assertSeparateDirectories, isWithin } from "./data-dir-layout.js";

/** The errno code, or the error's name where a runtime gives none (Deno's NotCapable, for one). */
const codeOf = (error: unknown) =>
  (error as { code?: string }).code ?? (error instanceof Error ? error.name : "unknown error");

const notADirectory = () => Object.assign(new Error("not a directory"), { code: "ENOTDIR" });

/** Creates a directory if missing and checks it can be read and written; names `variable` if not. */
export async function prepareDirectory(dir: string, variable: string): Promise<void> {
  try {
    // A file in the way would make mkdir say EEXIST; say what is wrong instead.
    const existing = await stat(dir).catch((error: unknown) => {
      if (codeOf(error) === "ENOENT") return undefined;
      throw error;
    });
    if (existing && !existing.isDirectory()) throw notADirectory();
    if (!existing) await mkdir(dir, { recursive: true });
    if (!(await stat(dir)).isDirectory()) throw notADirectory();
    await access(dir, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw new SettingsError(variable, `cannot use "${dir}" as a readable, writable directory (${codeOf(error)})`);
  }
}

export async function prepareDataDirectories(settings: CoreSettings): Promise<void> {
  // Before anything is created: a refused layout leaves nothing behind.
  await assertSeparateDirectories(settings);
  const dirs: Array<[string, string]> = [
    [settings.configsDir, "ESP32_CONFIGS_DIR"],
    [settings.assetsDir, "ASSETS_DIR"],
    [settings.stateDir, "STATE_DIR"],
  ];
  // When a directory lies under DATA_DIR (the defaults do), a broken DATA_DIR is named as such.
  if (dirs.some(([dir]) => isWithin(normalize(dir), normalize(settings.dataDir)))) {
    await prepareDirectory(settings.dataDir, "DATA_DIR");
  }
  for (const [dir, variable] of dirs) await prepareDirectory(dir, variable);
}

/**
 * Where a key file is, both as named (its folder resolved) and, when it is a link, where
 * the link leads: a static file server that follows links would serve either.
 */
async function keyLocations(path: string): Promise<string[]> {
  const named = join(await realpath(dirname(path)), basename(path));
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
    const root = await realpath(dir);
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
