import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Tests that run inside workerd (the Workers runtime) with the bindings of wrangler.toml,
// a local R2 bucket included. A project of vitest.config.ts, so `npm test` runs them too.
export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } })],
  test: {
    name: "workerd",
    include: ["test/storage-r2.test.ts", "test/sink-webhook-workerd.test.ts"],
    // A real webhook receiver in Node for the sink running inside workerd (passed in with inject).
    globalSetup: ["./test/support/webhook-receiver-setup.ts"],
    testTimeout: 30_000,
  },
});
