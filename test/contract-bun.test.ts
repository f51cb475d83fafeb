/** The real Bun server (`npm run start:bun`): HTTP contract with MQTT over ws, graceful shutdown, boot failure. */
import { runtimeSuite } from "./support/runtime-suite.js";

runtimeSuite("bun");
