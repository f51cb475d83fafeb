import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // A temporary directory for the run, checked empty at the end (the node project inherits this; it runs once).
    globalSetup: ["test/support/temp-dir-check.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "node",
          include: ["test/**/*.test.ts"],
          // The fault scenarios run on their own: `npm run test:faults`. These two run in the workerd project.
          exclude: [
            "test/faults/**",
            "node_modules/**",
            "test/storage-r2.test.ts",
            "test/sink-webhook-workerd.test.ts",
          ],
          pool: "forks",
        },
      },
      // Tests that run inside workerd, the Workers runtime.
      "./vitest.workers.config.ts",
    ],
  },
});
