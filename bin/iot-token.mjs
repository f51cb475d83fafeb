#!/usr/bin/env node
// iot-token: mints an admin API token for an IoT Support server and prints the hash to configure.
// Runs the TypeScript in src/cli directly through tsx's loader, so no build step is needed.
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
const { main } = await import("../src/cli/token.ts");
process.exitCode = await main();
