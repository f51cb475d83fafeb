/**
 * The pages a reader navigates by — README, the request-flow picture, the device protocol
 * page, the changelog — point only at what exists: every repository path they name (in code
 * spans and in their Mermaid pictures) is a file or folder of this repository, and every link
 * resolves. The device page names each file of the simulator that plays a device.
 */

import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { brokenLinks, namedPaths, ROOT, readDoc } from "./support/markdown.js";

const PAGES = ["README.md", "docs/request-flow.md", "docs/devices.md", "CHANGELOG.md"];

describe.each(PAGES)("%s", (page) => {
  it("names only paths that exist", async () => {
    const named = namedPaths(await readDoc(page));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
  });

  it("links only to files and headings that exist", async () => {
    expect(await brokenLinks(page)).toEqual([]);
  });
});

describe("docs/request-flow.md", () => {
  it("pictures the way from every runtime entry through the app to the sink", async () => {
    const text = await readDoc("docs/request-flow.md");
    expect(text).toContain("```mermaid");
    for (const step of [
      "src/runtimes/node.ts",
      "src/runtimes/deno.ts",
      "src/runtimes/bun.ts",
      "src/runtimes/worker.ts",
      "src/features/device-reads/fast-reads.ts",
      "src/core/app.ts",
      "src/core/auth/gate.ts",
      "src/core/notifier.ts",
      "src/plugins/sinks/mqtt.ts",
    ]) {
      expect(namedPaths(text), step).toContain(step);
    }
  });
});

describe("docs/devices.md", () => {
  it("names every file of the simulator that plays a device", async () => {
    const deviceFiles = (await readdir(join(ROOT, "tools/fleet")))
      .filter((name) => /^device.*\.ts$/.test(name))
      .map((name) => `tools/fleet/${name}`);
    expect(deviceFiles.length).toBeGreaterThanOrEqual(3);
    const named = namedPaths(await readDoc("docs/devices.md"));
    expect(deviceFiles.filter((file) => !named.includes(file))).toEqual([]);
  });
});
