/**
 * The API docs plugin on Workers without wrangler.toml's [assets] (the ASSETS binding that
 * carries Swagger UI's files): the Worker refuses to boot and says which binding is missing,
 * unless API_DOCS=false, which turns the docs off and needs no binding. Under `wrangler dev`.
 * (With the binding, the page and its files: test/docs-browser.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { testKeys } from "./support/keys.js";
import { waitUntil } from "./support/wait.js";
import { startWorkerDev } from "./support/worker-dev.js";

const keys = testKeys();

describe("the API docs on a Worker without the ASSETS binding", () => {
  it("refuses to boot, naming ASSETS, in the API's error shape and one log line", async () => {
    const worker = await startWorkerDev({ SIGNING_KEY: keys.pkcs1 }, { assets: false });
    try {
      // Health says why (worker-boot-failures.test.ts covers the answers); here, which binding it names.
      const health = await worker.fetch("/api/health");
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ code: "MISSING_BINDING", variable: "ASSETS" });
      const other = await worker.fetch("/api/configs");
      expect(other.status).toBe(503);
      expect(await other.json()).toMatchObject({
        code: "SERVER_MISCONFIGURED",
        details: { variable: "ASSETS", reason_code: "MISSING_BINDING" },
      });
      await waitUntil("the boot failure to be logged", () => worker.lines().some((l) => l.level === "error"));
      const failure = String(worker.lines().find((l) => l.level === "error")?.msg);
      expect(failure).toContain("ASSETS");
      expect(failure).toContain("API_DOCS=false");
    } finally {
      await worker.cleanup();
    }
  }, 120_000);

  it("boots with API_DOCS=false, and /api/docs* are unknown routes", async () => {
    const worker = await startWorkerDev({ SIGNING_KEY: keys.pkcs1, API_DOCS: "false" }, { assets: false });
    try {
      expect((await worker.fetch("/api/health")).status).toBe(200);
      for (const path of ["/api/docs", "/api/docs/openapi.json", "/api/docs/init.js"]) {
        const res = await worker.fetch(path);
        expect(res.status, path).toBe(404);
        expect(((await res.json()) as { code: string }).code).toBe("ROUTE_NOT_FOUND");
      }
    } finally {
      await worker.cleanup();
    }
  }, 120_000);
});
