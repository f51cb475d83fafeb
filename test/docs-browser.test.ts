/**
 * /api/docs on the real runtimes: the Node server process, Deno, Bun, and the Worker under
 * `wrangler dev` (whose Swagger UI files come through the static assets binding). On each,
 * every script, stylesheet and icon the page references is served by that server with the
 * right type and the installed package's bytes. On Node and the Worker the page is then
 * opened in headless Chromium, which must make no request to another host, report no CSP
 * violation or error, and render every operation of the document. Chromium is the system's
 * (`apt-get install chromium`; .ci/run installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, visit } from "./support/chromium.js";
import { expectPackageFiles, loadDocsPage } from "./support/docs-page.js";
import { testKeys } from "./support/keys.js";
import { npmScript, runtimeAvailable, type SpawnedServer, spawnServer } from "./support/server.js";
import { startWorkerDev, type WorkerDev } from "./support/worker-dev.js";

const withChromium = chromiumAvailable();

/** Method and path of every operation Swagger UI rendered, once it has rendered at least `count`. */
const renderedOperations = (count: number) => `(() => {
  const ops = [...document.querySelectorAll(".opblock")].map((o) =>
    (o.querySelector(".opblock-summary-method")?.textContent ?? "") + " " +
    (o.querySelector(".opblock-summary-path")?.getAttribute("data-path") ?? ""));
  return ops.length >= ${count} ? ops : null;
})()`;

async function documentedOperations(url: string): Promise<string[]> {
  const doc = (await (await fetch(`${url}/api/docs/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

interface Runtime {
  start(): Promise<{ url: string; close(): Promise<void> }>;
  /** Opened in Chromium too (the two ways of serving the files: from disk, and from the assets binding). */
  browser: boolean;
  available: boolean;
}

const server = (start: () => Promise<SpawnedServer>) => async () => {
  const spawned = await start();
  return { url: spawned.url, close: () => spawned.cleanup() };
};

const runtimes: Array<[string, Runtime]> = [
  ["Node (server process)", { start: server(() => spawnServer()), browser: true, available: true }],
  [
    "Deno",
    {
      start: server(() => spawnServer({}, undefined, npmScript("start:deno"))),
      browser: false,
      available: runtimeAvailable("deno"),
    },
  ],
  [
    "Bun",
    {
      start: server(() => spawnServer({}, undefined, npmScript("start:bun"))),
      browser: false,
      available: runtimeAvailable("bun"),
    },
  ],
  [
    "Workers (wrangler dev, static assets binding)",
    {
      start: async () => {
        const worker: WorkerDev = await startWorkerDev({ SIGNING_KEY: testKeys().pkcs1 });
        return { url: worker.url, close: () => worker.cleanup() };
      },
      browser: true,
      available: true,
    },
  ],
];

describe.each(runtimes.filter(([, r]) => r.available))("the API docs page on %s", (_name, runtime) => {
  let server: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    server = await runtime.start();
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it("is served whole by this server: every script, stylesheet and icon, typed, the installed package's bytes", async () => {
    const { loaded } = await loadDocsPage((path) => fetch(`${server.url}${path}`), server.url);
    await expectPackageFiles(loaded);
  });

  // Only where it says something new: the files from disk (Node; Deno and Bun read them alike) and from the binding.
  if (runtime.browser)
    it.skipIf(!withChromium)(
      "renders every operation in Chromium with no request to another host and no CSP violation",
      async () => {
        const expected = await documentedOperations(server.url);
        const seen = await visit(`${server.url}/api/docs`, renderedOperations(expected.length));
        const origin = new URL(server.url).origin;
        const elsewhere = seen.requests.filter((url) => !url.startsWith("data:") && new URL(url).origin !== origin);
        expect(elsewhere).toEqual([]);
        expect(seen.requests).toContain(`${origin}/api/docs/openapi.json`);
        expect(seen.problems).toEqual([]);
        expect((seen.value as string[] | null)?.sort()).toEqual(expected.sort());
      },
      60_000,
    );
});
