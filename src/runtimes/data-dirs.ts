/**
 * The data directories of the filesystem runtimes (Node, Deno, Bun), checked at boot so
 * that an unusable one stops the process with one line naming its variable, and so that
 * a private key can never sit where a device read or a static file server would serve it.
 */
import { constants } from "node:fs";
import { access, mkdir, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, sep } from "node:path";
import type { Settings } from "../core/settings.js";
import { SettingsError } from "../core/settings.js";

const codeOf = (error: unknown) => (error as { code?: string }).code ?? "unknown error";

/** Creates a directory if missing and checks it can be read and written; names `variable` if not. */
export async function prepareDirectory(dir: string, variable: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
    await access(dir, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw new SettingsError(variable, `cannot use "${dir}" as a readable, writable directory (${codeOf(error)})`);
  }
}

export async function prepareDataDirectories(settings: Settings): Promise<void> {
  await prepareDirectory(settings.configsDir, "ESP32_CONFIGS_DIR");
  await prepareDirectory(settings.assetsDir, "ASSETS_DIR");
  await prepareDirectory(settings.stateDir, "STATE_DIR");
}

/** The path with its directory resolved (the file itself may not exist yet). */
async function resolvedPath(path: string): Promise<string> {
  return join(await realpath(dirname(path)), basename(path));
}

/**
 * Refuses a private key file inside, or anywhere below, a served directory: device reads
 * serve those directories' files, and a static file server may serve their whole tree.
 */
export async function assertNotServed(keyPath: string, variable: string, settings: Settings): Promise<void> {
  const key = await resolvedPath(keyPath);
  for (const [dir, served] of [
    [settings.configsDir, "ESP32_CONFIGS_DIR"],
    [settings.assetsDir, "ASSETS_DIR"],
  ] as const) {
    const root = await realpath(dir);
    if (key === root || key.startsWith(root.endsWith(sep) ? root : `${root}${sep}`)) {
      throw new SettingsError(
        variable,
        `the private signing key ${key} would be inside ${served} (${root}), which is served to devices; ` +
          `keep private keys outside ESP32_CONFIGS_DIR and ASSETS_DIR`,
      );
    }
  }
}
