#!/usr/bin/env node
// iot-rollout: creates, watches, pauses, resumes, aborts and rolls back rollouts on an IoT Support server (see --help).
// Runs the TypeScript in src/cli directly through tsx's loader, so no build step is needed.
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

// The repository's tsconfig, not whatever tsconfig sits in the directory the command runs from.
register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
const { main } = await import("../src/cli/rollout-main.ts");
process.exitCode = await main();
