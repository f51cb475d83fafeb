// Bundles the Node entry point into one ESM file: the server then starts in about a
// third of the time of loading hundreds of modules through a TypeScript loader.
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { build } from "esbuild";

const result = await build({
  entryPoints: ["src/runtimes/node.ts"],
  outfile: "dist/node.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  // Some CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  write: false,
});

// Each file is written beside its target and renamed over it. `npm start` builds before it
// serves, so two of them (parallel test files, two terminals) may build at once; with
// esbuild's in-place writes one could start the bundle while the other was half-way
// through rewriting it. A rename is atomic: a reader sees the old bundle or the new one.
for (const file of result.outputFiles) {
  const temporary = `${file.path}.${process.pid}.tmp`;
  await mkdir(dirname(file.path), { recursive: true });
  await writeFile(temporary, file.contents);
  await rename(temporary, file.path);
}
