/**
 * Plugins cost nothing where they cannot run (issue 17.4). A TCP-only sink plugin
 * (test/fixtures/tcp-line-sink.ts: node:net and a heavy library) is added to a copy of the
 * project the way the README tells an author to: its file next to the shipped plugins and
 * one line in src/plugins/sinks/server.ts. The Worker is then built as it is deployed
 * (`wrangler deploy --dry-run --outdir`) with and without it: the two bundles stay within
 * 5%, and the Worker holds none of its code, while the Node build does include it. The
 * same plugin listed for every runtime (src/plugins/sinks/index.ts) is built too, as a
 * control: it must grow the Worker visibly, else the fixture would prove nothing.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./support/worker-dev.js";

const run = promisify(execFile);
const TOLERANCE = 0.05;
const PLUGIN_FILE = "src/plugins/sinks/tcp-line.ts";
const SERVER_LIST = "src/plugins/sinks/server.ts";
const EVERY_RUNTIME_LIST = "src/plugins/sinks/index.ts";

interface Bundle {
  /** Everything wrangler would upload (modules, no source maps). */
  bytes: number;
  gzipBytes: number;
  code: string;
}

let copy: string;
beforeAll(async () => {
  copy = await mkdtemp(join(tmpdir(), "iot-bundle-"));
  await cp(join(ROOT, "src"), join(copy, "src"), { recursive: true });
  for (const file of ["wrangler.toml", "package.json", "tsconfig.json"]) await cp(join(ROOT, file), join(copy, file));
  await symlink(join(ROOT, "node_modules"), join(copy, "node_modules"), "dir");
  await mkdir(join(copy, "tmp"));
});
afterAll(async () => {
  if (copy) await rm(copy, { recursive: true, force: true });
});

/** The Worker as `wrangler deploy` would upload it, built from the copy. */
async function workerBundle(label: string): Promise<Bundle> {
  const outdir = join(copy, `out-${label}`);
  await run(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
    cwd: copy,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      // Wrangler's own temporary files (an update-check cache among them) go with the copy.
      TMPDIR: join(copy, "tmp"),
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_HIDE_BANNER: "true",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
    },
  });
  const modules = (await readdir(outdir)).filter((name) => !name.endsWith(".map") && name !== "README.md");
  let bytes = 0;
  let gzipBytes = 0;
  let code = "";
  for (const name of modules) {
    const text = await readFile(join(outdir, name));
    bytes += (await stat(join(outdir, name))).size;
    gzipBytes += gzipSync(text).byteLength;
    code += text.toString("utf8");
  }
  return { bytes, gzipBytes, code };
}

/** What the README asks of an author: the plugin's file beside the others, then one import and one entry in a list. */
async function addPlugin(): Promise<void> {
  const source = await readFile(join(ROOT, "test/fixtures/tcp-line-sink.ts"), "utf8");
  await writeFile(join(copy, PLUGIN_FILE), source.replaceAll('from "../../src/', 'from "../../'));
}

async function register(list: string): Promise<void> {
  const path = join(copy, list);
  const text = await readFile(path, "utf8");
  const registered = text
    .replace(/^(import .*\n)(?!import )/m, '$1import { tcpLineSinkPlugin } from "./tcp-line.js";\n')
    .replace(/\n\] as SinkPlugin\[\];/, "\n  tcpLineSinkPlugin,\n] as SinkPlugin[];");
  if (!registered.includes("  tcpLineSinkPlugin,\n")) throw new Error(`${list} has no plugin list to add to`);
  await writeFile(path, registered);
}

/** Our own modules in the Node build of the copy (dependencies are not judged here). */
async function nodeInputs(): Promise<string[]> {
  const result = await build({
    absWorkingDir: copy,
    entryPoints: ["src/runtimes/node.ts"],
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    format: "esm",
    logLevel: "silent",
    packages: "external",
  });
  return Object.keys(result.metafile.inputs);
}

const kib = (bytes: number) => `${Math.round(bytes / 1024).toLocaleString("en")} KiB`;
const growth = (bytes: number, base: number) => `${bytes >= base ? "+" : ""}${((bytes / base - 1) * 100).toFixed(1)}%`;

describe("a TCP-only sink plugin and the Worker bundle", () => {
  it("registered for the server runtimes, it leaves the Worker within 5% (figures printed)", async () => {
    const without = await workerBundle("without");
    await addPlugin();
    const originalServerList = await readFile(join(copy, SERVER_LIST), "utf8");
    await register(SERVER_LIST);
    const withPlugin = await workerBundle("with");
    expect(await nodeInputs(), "the Node build carries the plugin").toContain(PLUGIN_FILE);

    // The control: the same plugin listed for every runtime, which is what cost the Worker 1.4 MB in the issue.
    await writeFile(join(copy, SERVER_LIST), originalServerList);
    await register(EVERY_RUNTIME_LIST);
    const everywhere = await workerBundle("everywhere");

    console.log(
      [
        "Worker bundle (wrangler deploy --dry-run), modules without source maps:",
        `  without the TCP-only plugin:                        ${kib(without.bytes)} (${kib(without.gzipBytes)} gzipped)`,
        `  with it, registered in ${SERVER_LIST}: ${kib(withPlugin.bytes)} (${kib(withPlugin.gzipBytes)} gzipped), ${growth(withPlugin.bytes, without.bytes)}`,
        `  control, registered in ${EVERY_RUNTIME_LIST}:  ${kib(everywhere.bytes)} (${kib(everywhere.gzipBytes)} gzipped), ${growth(everywhere.bytes, without.bytes)}`,
      ].join("\n"),
    );
    expect(Math.abs(withPlugin.bytes / without.bytes - 1)).toBeLessThanOrEqual(TOLERANCE);
    expect(withPlugin.code, "the Worker holds none of the plugin's code").not.toContain('"tcpline"');
    expect(everywhere.code, "the control does carry it").toContain('"tcpline"');
    expect(everywhere.bytes / without.bytes - 1, "the fixture is heavy enough to be seen").toBeGreaterThan(
      2 * TOLERANCE,
    );
  }, 300_000);
});
