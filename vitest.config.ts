import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
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
