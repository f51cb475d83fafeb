import { defineConfig } from "vitest/config";

// `npm run test:faults`: the fault scenarios, one file at a time (they kill brokers and servers).
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    globalSetup: ["test/support/temp-dir-check.ts", "test/faults/global-setup.ts"],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: false,
  },
});
