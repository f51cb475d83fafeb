/**
 * Swagger UI's files from disk (Node, Deno, Bun): beside the Node bundle, where
 * scripts/build.mjs copies them (dist/swagger-ui-dist/, so dist/ deploys on its own), else
 * from the installed swagger-ui-dist package. Each file is read once, on first request, and
 * kept: about 1.9 MB, only once the docs page is opened.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SWAGGER_UI_VERSION, type SwaggerUiFile, type SwaggerUiFiles } from "./swagger-ui.js";

/** The installed package's folder, if it can be resolved from here. */
function installedPackage(): string | undefined {
  try {
    return dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  } catch (error) {
    if ((error as { code?: unknown }).code === "MODULE_NOT_FOUND") return undefined;
    throw error;
  }
}

async function versionIn(dir: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as { version?: string }).version;
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The first folder holding the version the page names; undefined when none does. */
export async function locateSwaggerUi(): Promise<string | undefined> {
  const besideBundle = fileURLToPath(new URL("./swagger-ui-dist/", import.meta.url));
  for (const dir of [besideBundle, installedPackage()]) {
    if (dir && (await versionIn(dir)) === SWAGGER_UI_VERSION) return dir;
  }
  return undefined;
}

export function packageFiles(dir: string): SwaggerUiFiles {
  const read = new Map<SwaggerUiFile, Promise<Uint8Array<ArrayBuffer>>>();
  return {
    read(file) {
      let bytes = read.get(file);
      if (!bytes) {
        bytes = readFile(join(dir, file)).then((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
        // A failed read is not kept: the next request tries again.
        bytes.catch(() => read.delete(file));
        read.set(file, bytes);
      }
      return bytes;
    },
  };
}
