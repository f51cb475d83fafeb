/**
 * The MQTT message body is built by hand (src/plugins/sinks/mqtt-messages.ts: cheaper than
 * stringifying the payload object in a burst); it must stay byte-for-byte what SPEC says devices
 * receive, `JSON.stringify({ filename })`, whatever the name holds.
 */
import { describe, expect, it } from "vitest";
import { TOPICS } from "../src/core/sinks/contract.js";
import { payloadOf } from "../src/plugins/sinks/mqtt-messages.js";

const names = [
  "aa-bb-cc-dd-ee-ff.json",
  "firmware v1.2.bin",
  'quote"and\\backslash.bin',
  "tab\tnewline\ncontrol\u0001.bin",
  "ünïcødé-日本語-🙂.bin",
  "lone-surrogate-\ud800.bin",
  "line\u2028separator.bin",
  "",
];

describe("MQTT message body", () => {
  it.each(names)("is JSON.stringify({ filename }) byte for byte: %j", (filename) => {
    const body = payloadOf({ topic: TOPICS.assets, payload: { filename } });
    expect(body).toBe(JSON.stringify({ filename }));
    expect(JSON.parse(body)).toEqual({ filename });
  });
});
