/**
 * The webhook plugin: its settings (refused in one line, required only when chosen,
 * redacted, applied), per-request running where nothing may outlive a request (Workers),
 * and no node: import, so it runs there. Against a real HTTP receiver on loopback.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createMemoryLogger } from "../src/core/logger.js";
import { redactSettingValues, SettingsError } from "../src/core/setting-spec.js";
import { defineSink } from "../src/core/sinks/define-sink.js";
import { type RuntimeInfo, SinkConfigError } from "../src/core/sinks/plugin.js";
import { SinkRegistry } from "../src/core/sinks/registry.js";
import { consoleSinkPlugin } from "../src/plugins/sinks/console.js";
import { WEBHOOK_SETTINGS } from "../src/plugins/sinks/webhook-settings.js";
import { freePort } from "./support/mosquitto.js";
import { NODE_RUNTIME } from "./support/sink-conformance.js";
import { startWebhookReceiver } from "./support/webhook-receiver.js";
import { filenames, note, outcome, PLUGIN, SECRET, viaRegistry } from "./support/webhook-sink.js";

describe("webhook plugin", () => {
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error as Error,
    );

  it.each([
    [{ WEBHOOK_SECRET: "short" }, "WEBHOOK_SECRET", "must be at least 16 characters"],
    [{ WEBHOOK_SECRET: SECRET, WEBHOOK_TIMEOUT_MS: "50" }, "WEBHOOK_TIMEOUT_MS", "must be at least 100"],
    [{ WEBHOOK_SECRET: SECRET, WEBHOOK_QUEUE_LIMIT: "0" }, "WEBHOOK_QUEUE_LIMIT", "must be at least 1"],
    [{ WEBHOOK_SECRET: SECRET, WEBHOOK_MAX_ATTEMPTS: "two" }, "WEBHOOK_MAX_ATTEMPTS", "must be a whole number"],
  ])("refuses %j with one line naming %s", async (env, variable, problem) => {
    const error = await refusal(viaRegistry("https://hooks.example.com/iot", env));
    expect(error).toBeInstanceOf(SettingsError);
    expect(error?.message).toBe(`Invalid setting ${variable}: ${problem}`);
  });

  it("requires WEBHOOK_SECRET only when a webhook URL is chosen, but validates it whichever sink is", async () => {
    const registry = new SinkRegistry([consoleSinkPlugin, PLUGIN]);
    const create = (url: string, env: Record<string, string>) =>
      registry.create({
        url: new URL(url),
        urlVariable: "NOTIFY_URL",
        env,
        logger: createMemoryLogger(),
        runtime: NODE_RUNTIME,
      });
    const missing = await refusal(create("https://hooks.example.com/iot", {}));
    expect(missing).toBeInstanceOf(SinkConfigError);
    expect(missing?.message).toMatch(/^Invalid setting WEBHOOK_SECRET: required with an http\(s\):\/\/ NOTIFY_URL/);
    const { sink } = await create("console:", {});
    await sink.close();
    expect(await refusal(create("console:", { WEBHOOK_SECRET: "short" }))).toBeInstanceOf(SettingsError);
  });

  it("redacts WEBHOOK_SECRET wherever settings are logged, and never repeats it in an error", async () => {
    expect(redactSettingValues(WEBHOOK_SETTINGS, { WEBHOOK_SECRET: SECRET, WEBHOOK_QUEUE_LIMIT: 5 })).toEqual({
      WEBHOOK_SECRET: "[redacted]",
      WEBHOOK_QUEUE_LIMIT: 5,
    });
    const error = await refusal(viaRegistry("https://hooks.example.com/iot", { WEBHOOK_SECRET: "tooshortsecret" }));
    expect(error?.message).not.toContain("tooshortsecret");
  });

  it("applies the WEBHOOK_* settings it is given", async () => {
    const closedPort = await freePort();
    const sink = await viaRegistry(`http://127.0.0.1:${closedPort}/hook`, {
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_MAX_ATTEMPTS: "1",
      WEBHOOK_QUEUE_LIMIT: "1",
    });
    try {
      const first = outcome(sink.publish(note(1)));
      const second = outcome(sink.publish(note(2)));
      // Queue limit 1: the first is pushed out by the second; one attempt, then rejected.
      expect(await Promise.all([first, second])).toEqual(["SINK_DROPPED", "SINK_REJECTED"]);
    } finally {
      await sink.close();
    }
  });

  it("runs per request where nothing may outlive a request (Workers), and delivers there", async () => {
    const receiver = await startWebhookReceiver({ secret: SECRET });
    const opened: string[] = [];
    // As Workers' adapter does, in short: each publish gets a sink of its own, closed once it settles.
    const workers: RuntimeInfo = {
      name: "Cloudflare Workers",
      capabilities: new Set(),
      perRequest: (name, open) => {
        opened.push(name);
        return defineSink({
          name,
          async deliver(notification) {
            const sink = await open();
            try {
              await sink.publish(notification);
            } finally {
              await sink.close();
            }
          },
        });
      },
    };
    try {
      const sink = await viaRegistry(receiver.url, { WEBHOOK_SECRET: SECRET }, workers);
      await sink.publish(note(1));
      await sink.close();
      expect(opened).toEqual(["webhook"]);
      expect(filenames(receiver)).toEqual(["n-1.json"]);
    } finally {
      await receiver.close();
    }
  });

  it("imports nothing from node: (it runs on Workers)", async () => {
    const dir = join(import.meta.dirname, "../src/plugins/sinks");
    for (const file of [
      "webhook.ts",
      "webhook-queue.ts",
      "webhook-request.ts",
      "webhook-settings.ts",
      "webhook-signature.ts",
    ]) {
      expect(await readFile(join(dir, file), "utf8"), file).not.toMatch(/from "node:/);
    }
  });
});
