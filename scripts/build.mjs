// Bundles the Node entry point into one ESM file: the server then starts in about a
// third of the time of loading hundreds of modules through a TypeScript loader.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
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
async function writeAtomically(path, contents) {
  const temporary = `${path}.${process.pid}.tmp`;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(temporary, contents);
  await rename(temporary, path);
}

for (const file of result.outputFiles) await writeAtomically(file.path, file.contents);

// The API docs' Swagger UI files, beside the bundle (src/plugins/docs/package-files.ts looks
// there first), so dist/ runs on its own where node_modules is not deployed. package.json
// says which version they are; the licence goes with the code.
const swaggerUi = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const copied = ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "package.json", "LICENSE", "NOTICE"];
for (const name of copied) {
  await writeAtomically(join("dist/swagger-ui-dist", name), await readFile(join(swaggerUi, name)));
}
