/** The real Deno server (`npm run start:deno`): HTTP contract with MQTT over ws, graceful shutdown, boot failure. */
import { runtimeSuite } from "./support/runtime-suite.js";

runtimeSuite("deno");
