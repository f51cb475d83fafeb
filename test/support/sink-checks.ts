/**
 * The conformance kit's checks of the contract every sink keeps on its own: a name and a
 * status, delivery, close, a typed refusal, and building through the plugin registry.
 * The checks against a far end that stalls, a link that drops and a queue that overflows
 * are in sink-checks-far-end.ts. Each check is a plain function of a sink under test, so
 * the kit's own tests can run it against broken sinks and see it fail.
 */
import { expect } from "vitest";
import { createMemoryLogger } from "../../src/core/logger.js";
import { SettingsError } from "../../src/core/settings.js";
import { isSinkError } from "../../src/core/sinks/contract.js";
import { type Capability, type RuntimeInfo, SinkConfigError, type SinkPlugin } from "../../src/core/sinks/plugin.js";
import { SinkRegistry } from "../../src/core/sinks/registry.js";
import {
  type CheckContext,
  need,
  note,
  receivedAll,
  type SinkCapability,
  type SinkUnderTest,
  settled,
  watch,
} from "./sink-under-test.js";

export interface SinkCheck {
  title: string;
  /** What the sink must offer; the check is skipped, with the reason, when `lacks` excuses one. */
  needs: SinkCapability[];
  run(sut: SinkUnderTest, context: CheckContext): Promise<void>;
}

/** Node's capabilities, as the Node entry point declares them. */
export const NODE_RUNTIME: RuntimeInfo = {
  name: "node",
  capabilities: new Set<Capability>(["tcp", "longLivedConnections", "filesystem"]),
};

const build = (plugin: SinkPlugin, url: string, env: Record<string, string>) =>
  new SinkRegistry([plugin]).create({
    url: new URL(url),
    urlVariable: "NOTIFY_URL",
    env,
    logger: createMemoryLogger(),
    runtime: NODE_RUNTIME,
  });

export const BASIC_CHECKS = {
  nameAndStatus: {
    title: "has a short, stable name and a synchronous status",
    needs: [],
    async run({ sink }) {
      expect(sink.name).toMatch(/^[a-z][a-z0-9_-]*$/);
      const status = sink.status();
      expect(typeof status.ready).toBe("boolean");
      expect(status.queueDepth).toBeGreaterThanOrEqual(0);
    },
  },

  deliversOne: {
    title: "resolves a publish once delivered",
    needs: [],
    async run(sut, context) {
      await expect(sut.sink.publish(note(1))).resolves.toBeUndefined();
      if (sut.received) await receivedAll(sut, [note(1)], context);
    },
  },

  deliversConcurrent: {
    title: "resolves 20 concurrent publishes, each delivered",
    needs: [],
    async run(sut, context) {
      const notes = Array.from({ length: 20 }, (_, i) => note(i));
      const results = await Promise.allSettled(notes.map((n) => sut.sink.publish(n)));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill("fulfilled"));
      if (sut.received) await receivedAll(sut, notes, context);
      expect(sut.sink.status().queueDepth).toBe(0);
    },
  },

  closes: {
    title: "closes idempotently, then rejects publishes with a typed SINK_CLOSED",
    needs: [],
    async run({ sink }) {
      await sink.close();
      await sink.close();
      const error = await sink.publish(note(2)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSinkError(error)).toBe(true);
      expect((error as { code: string }).code).toBe("SINK_CLOSED");
      expect(sink.status().ready).toBe(false);
    },
  },

  refuses: {
    title: "rejects with a typed SinkError when the far end refuses, never hangs",
    needs: ["refusing"],
    async run(sut, context) {
      const refusing = await need("refusing", sut.refusing)();
      try {
        const [outcome] = await settled(
          [watch(refusing.sink.publish(note(3)))],
          "the refused publish to settle",
          context,
        );
        expect(outcome).toBe(refusing.code);
      } finally {
        await refusing.sink.close();
        await refusing.cleanup();
      }
    },
  },

  registry: {
    title: "builds through the plugin registry and delivers",
    needs: ["registry"],
    async run(sut, context) {
      const registry = need("registry", sut.registry);
      const { sink } = await build(registry.plugin, registry.url, registry.env);
      try {
        expect(sink.name).toBe(registry.plugin.name);
        await expect(sink.publish(note(4))).resolves.toBeUndefined();
        if (registry.observed && sut.received) await receivedAll(sut, [note(4)], context);
      } finally {
        await sink.close();
      }
    },
  },

  invalidSettings: {
    title: "refuses invalid settings with one line naming the variable",
    needs: ["registry", "invalidSettings"],
    async run(sut) {
      const registry = need("registry", sut.registry);
      const { env, variable } = need("invalidSettings", registry.invalid);
      const error = await build(registry.plugin, registry.url, env).then(
        async ({ sink }) => {
          await sink.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(error instanceof SettingsError || error instanceof SinkConfigError).toBe(true);
      const { message } = error as Error;
      expect(message).toMatch(new RegExp(`^Invalid setting ${variable}: \\S`));
      expect(message).not.toContain("\n");
    },
  },
} satisfies Record<string, SinkCheck>;
