/** Builds the server bundle once, as `npm start` would, before the fault scenarios run it. */
import { execFileSync } from "node:child_process";
import { ROOT } from "../support/server.js";

export default function setup() {
  execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: ROOT, stdio: "inherit" });
}
