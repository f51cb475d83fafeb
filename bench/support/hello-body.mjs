// The constant body of the hello-world baselines: the bytes of BODY_FILE when given (the
// config file the server under test sends, so both answer the same bytes), else ~185 bytes of JSON.
import { readFileSync } from "node:fs";

const FALLBACK = {
  deviceName: "hello-world",
  deviceEntityId: "sensor.hello_world",
  enableOTA: true,
  settings: { interval: 60, pins: [1, 2, 3], name: "constant body of about 185 bytes" },
};

export const helloBody = () =>
  process.env.BODY_FILE
    ? new Uint8Array(readFileSync(process.env.BODY_FILE))
    : new TextEncoder().encode(JSON.stringify(FALLBACK, null, 2));
