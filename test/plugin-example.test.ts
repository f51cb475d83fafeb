/**
 * The plugin guide (docs/plugins.md), taken at its word: the example plugin it shows is the file
 * src/plugins/sinks/jsonl.example.ts exactly (so `npm run typecheck` compiles what readers
 * copy), and that file passes the conformance suite, builds through the registry, runs in
 * a real boot when added to the plugin list, and is refused in one line on Workers.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { isSinkError } from "../src/core/sinks/contract.js";
import { SinkRegistry } from "../src/core/sinks/registry.js";
import { createJsonlSink, jsonlSinkPlugin } from "../src/plugins/sinks/jsonl.example.js";
import { SERVER_SINK_PLUGINS } from "../src/plugins/sinks/server.js";
import { boot } from "../src/runtimes/boot.js";
import { ROOT } from "./support/server.js";
import { testSink } from "./support/sink-conformance.js";
import { waitUntil } from "./support/wait.js";

const EXAMPLE = "src/plugins/sinks/jsonl.example.ts";

const GUIDE = "docs/plugins.md";

/** The code block that follows the guide's first line naming the example file. */
async function guideExample(): Promise<string> {
  const guide = await readFile(join(ROOT, GUIDE), "utf8");
  const at = guide.indexOf(`\`${EXAMPLE}\``);
  if (at < 0) throw new Error(`${GUIDE} does not name ${EXAMPLE}`);
  const start = guide.indexOf("```ts\n", at);
  const end = guide.indexOf("\n```\n", start);
  return guide.slice(start + "```ts\n".length, end + 1);
}

const lines = async (path: string) =>
  (await readFile(path, "utf8").catch(() => ""))
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { topic: string; payload: unknown; metadata?: unknown });

describe("the plugin guide's example", () => {
  it("is shown in the plugin guide exactly as the file that is compiled and tested", async () => {
    expect(await guideExample()).toBe(await readFile(join(ROOT, EXAMPLE), "utf8"));
  });
});

testSink({
  name: "jsonl (the plugin guide's example plugin)",
  async create() {
    const dir = await mkdtemp(join(tmpdir(), "iot-jsonl-"));
    const file = join(dir, "notifications.jsonl");
    return {
      sink: createJsonlSink(file, false),
      received: () => lines(file),
      async refusing() {
        // A file in a directory that does not exist: every append fails.
        return {
          sink: createJsonlSink(join(dir, "missing", "n.jsonl"), true),
          code: "SINK_UNAVAILABLE",
          cleanup: async () => {},
        };
      },
      registry: {
        plugin: jsonlSinkPlugin,
        url: `jsonl:${file}`,
        env: { JSONL_SYNC: "true" },
        observed: true,
        invalid: { env: { JSONL_SYNC: "sometimes" }, variable: "JSONL_SYNC" },
      },
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
  lacks: {
    stall: "not applicable: an append to a local file has no far end that could stop answering",
    link: "not applicable: a local file has no link to drop",
    queueLimit: "not applicable: each append happens at once, nothing is queued",
  },
});

describe("the example plugin in a real boot", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "iot-jsonl-boot-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("is selected by NOTIFY_URL once added to the plugin list, and writes one line per save", async () => {
    const file = join(dir, "notifications.jsonl");
    const booted = await boot({
      env: { DATA_DIR: join(dir, "data"), NOTIFY_URL: `jsonl:${file}`, LOG_LEVEL: "error" },
      runtime: "node",
      plugins: [...SERVER_SINK_PLUGINS, jsonlSinkPlugin],
      write: () => {},
    });
    try {
      expect(booted.sink.name).toBe("jsonl");
      const response = await booted.app.request("/api/configs/aa-bb-cc-dd-ee-ff", {
        method: "PUT",
        headers: { "Content-Type": "application/json", Host: "127.0.0.1" },
        body: JSON.stringify({ content: { deviceName: "kitchen" } }),
      });
      expect(response.status).toBe(200);
      const [line] = await waitUntil("the line to be written", async () => {
        const found = await lines(file);
        return found.length > 0 ? found : undefined;
      });
      expect(line).toMatchObject({
        topic: "iotsupport/updates/configs",
        payload: { filename: "aa-bb-cc-dd-ee-ff.json" },
        metadata: { size: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      });
    } finally {
      await booted.sink.close();
      await booted.deps.storage.dispose?.();
    }
  });

  it("is refused in one line on a runtime without a filesystem (Workers), with its hint", async () => {
    const error = await new SinkRegistry([jsonlSinkPlugin])
      .create({
        url: new URL("jsonl:/var/log/n.jsonl"),
        urlVariable: "NOTIFY_URL",
        env: {},
        logger: createMemoryLogger(),
        runtime: { name: "Cloudflare Workers", capabilities: new Set() },
      })
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(isSinkError(error)).toBe(false);
    expect(error?.message).toBe(
      "Invalid setting NOTIFY_URL: jsonl:// needs a filesystem, which Cloudflare Workers does not have; use console: and the platform's log instead",
    );
  });
});
