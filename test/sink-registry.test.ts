/**
 * The plugin registry and the composition root's handling of plugins: one list, settings
 * owned by each plugin, runtime requirements, and every failure a plugin can cause turned
 * into one line naming the variable. Plugins here are real ones or small real plugins
 * written for the test; nothing is mocked.
 */

import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createMemoryLogger } from "../src/core/logger.js";
import { optionalText } from "../src/core/setting-types.js";
import { SettingsError } from "../src/core/settings.js";
import { type NotificationSink, TOPICS } from "../src/core/sinks/contract.js";
import { defineSink } from "../src/core/sinks/define-sink.js";
import { type Capability, defineSinkPlugin, type RuntimeInfo, SinkConfigError } from "../src/core/sinks/plugin.js";
import { SinkRegistry } from "../src/core/sinks/registry.js";
import { SINK_PLUGINS } from "../src/plugins/sinks/index.js";

const NODE: RuntimeInfo = {
  name: "node",
  capabilities: new Set<Capability>(["tcp", "longLivedConnections", "filesystem"]),
};
const WORKERS: RuntimeInfo = { name: "Cloudflare Workers", capabilities: new Set<Capability>() };
const logger = createMemoryLogger();
const create = (registry: SinkRegistry, url: string, env: Record<string, string> = {}, runtime = NODE) =>
  registry.create({ url: new URL(url), urlVariable: "NOTIFY_URL", env, logger, runtime });
const failure = async (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as Error,
  );

/** A real, tiny plugin: it remembers what it delivered. */
const recording = (delivered: unknown[]) =>
  defineSinkPlugin({
    name: "recording",
    schemes: ["rec"],
    settings: {
      REC_LABEL: { schema: optionalText, description: "a label" },
      REC_TOKEN: { schema: optionalText, description: "a secret", secret: true },
      REC_COUNT: { schema: z.string().regex(/^\d+$/, "must be a number").optional(), description: "a number" },
    },
    create: ({ settings }) =>
      defineSink({
        name: "recording",
        deliver: async (notification) => {
          delivered.push({ ...notification, label: settings.REC_LABEL });
        },
      }),
  });

describe("sink registry", () => {
  it("refuses an unknown scheme, listing the known ones, never falling back", async () => {
    const error = await failure(create(new SinkRegistry(SINK_PLUGINS), "carrier-pigeon://coop"));
    expect(error).toBeInstanceOf(SinkConfigError);
    expect(error?.message).toMatch(/^Invalid setting NOTIFY_URL: unknown scheme "carrier-pigeon:"; known schemes: /);
    for (const scheme of ["console:", "mqtt:", "mqtts:", "ws:", "wss:"]) expect(error?.message).toContain(scheme);
  });

  it("says why a scheme is unknown where the runtime's build leaves plugins out", async () => {
    const leftOut = "sink plugins that need raw TCP are not part of this build";
    const error = await failure(create(new SinkRegistry(SINK_PLUGINS), "redis://cache", {}, { ...WORKERS, leftOut }));
    expect(error?.message).toMatch(
      /^Invalid setting NOTIFY_URL: unknown scheme "redis:"; known schemes: .*; sink plugins/,
    );
    expect(error?.message.endsWith(leftOut)).toBe(true);
    expect((error as SinkConfigError).code).toBe("INVALID_SINK_SETTING");
  });

  it("tells a refusal for what the runtime lacks (UNSUPPORTED_SINK) from a bad setting", async () => {
    const refused = await failure(create(new SinkRegistry(SINK_PLUGINS), "mqtt://broker.example", {}, WORKERS));
    expect(refused?.message).toContain("needs raw TCP sockets, which Cloudflare Workers cannot keep open");
    expect(refused).toMatchObject({ code: "UNSUPPORTED_SINK", variable: "NOTIFY_URL" });
    const invalid = await failure(create(new SinkRegistry(SINK_PLUGINS), "mqtt://", {}, NODE));
    expect(invalid).toMatchObject({ code: "INVALID_SINK_SETTING", variable: "NOTIFY_URL" });
  });

  it("hands a plugin its own settings, validated, and builds a sink that delivers", async () => {
    const delivered: unknown[] = [];
    const { sink, settings } = await create(new SinkRegistry([recording(delivered)]), "rec://x", {
      REC_LABEL: "fleet",
    });
    await sink.publish({ topic: TOPICS.configs, payload: { filename: "a.json" } });
    expect(delivered).toEqual([{ topic: TOPICS.configs, payload: { filename: "a.json" }, label: "fleet" }]);
    expect(settings).toMatchObject({ REC_LABEL: "fleet" });
    await sink.close();
  });

  it("stops on an invalid setting of any registered plugin, with one line naming it", async () => {
    const registry = new SinkRegistry([...SINK_PLUGINS, recording([])]);
    const error = await failure(create(registry, "console:", { REC_COUNT: "many" }));
    expect(error).toBeInstanceOf(SettingsError);
    expect(error?.message).toBe("Invalid setting REC_COUNT: must be a number");
  });

  it("turns a plain Error from create into the one-line boot error, and keeps SinkConfigError's own line", async () => {
    const broken = defineSinkPlugin({
      name: "broken",
      schemes: ["broken"],
      settings: {},
      create: () => {
        throw new Error("cannot reach the thing");
      },
    });
    const picky = defineSinkPlugin({
      name: "picky",
      schemes: ["picky"],
      settings: {},
      create: () => {
        throw new SinkConfigError("PICKY_MODE", "must be strict");
      },
    });
    const registry = new SinkRegistry([broken, picky]);
    const plain = await failure(create(registry, "broken://x"));
    expect(plain).toBeInstanceOf(SinkConfigError);
    expect(plain?.message).toBe("Invalid setting NOTIFY_URL: the broken sink could not start: cannot reach the thing");
    expect((await failure(create(registry, "picky://x")))?.message).toBe("Invalid setting PICKY_MODE: must be strict");
  });

  it("refuses, on a runtime that cannot give it, what a plugin requires, with the plugin's hint", async () => {
    const registry = new SinkRegistry(SINK_PLUGINS);
    const error = await failure(create(registry, "mqtt://broker.example", {}, WORKERS));
    expect(error?.message).toBe(
      "Invalid setting NOTIFY_URL: mqtt:// needs raw TCP sockets, which Cloudflare Workers cannot keep open; use ws:// or wss://",
    );
    const file = await failure(
      create(
        registry,
        "wss://broker.example",
        { MQTT_CA_FILE: "/etc/ca.pem" },
        { ...WORKERS, perRequest: (_n, o) => defineSink({ name: "x", deliver: async () => void (await o()) }) },
      ),
    );
    expect(file?.message).toContain("Invalid setting MQTT_CA_FILE:");
  });

  it("runs a plugin needing long-lived connections per request where the runtime offers only that", async () => {
    const opened: string[] = [];
    const perRequest = (name: string, open: () => Promise<NotificationSink>): NotificationSink => {
      opened.push(name);
      return defineSink({ name, deliver: async (n) => (await open()).publish(n) });
    };
    const { sink } = await create(
      new SinkRegistry(SINK_PLUGINS),
      "ws://broker.example",
      {},
      { ...WORKERS, perRequest },
    );
    expect(opened).toEqual(["mqtt"]);
    expect(sink.name).toBe("mqtt");
    await sink.close();
    // Without that offer, the same URL is refused.
    const refused = await failure(create(new SinkRegistry(SINK_PLUGINS), "ws://broker.example", {}, WORKERS));
    expect(refused?.message).toContain("needs a connection that outlives a request");
  });

  it("refuses two plugins claiming one scheme", () => {
    expect(() => new SinkRegistry([recording([]), recording([])])).toThrow(/already registered/);
  });
});
