/**
 * The sink conformance suite: every sink plugin's test calls `testSink(...)` in one line.
 * It checks the delivery contract of NotificationSink (src/core/sinks/contract.ts).
 *
 * Beyond the basics, a sink under test may offer capabilities: a far end that refuses,
 * a far end that stalls, and a plugin to build through the registry. A sink that lacks
 * one says why in `lacks`, and the test is skipped with that reason in its title;
 * a capability neither offered nor excused fails, so none is left out by accident.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../../src/core/logger.js";
import { SettingsError } from "../../src/core/settings.js";
import { isSinkError, type NotificationSink, type SinkErrorCode, TOPICS } from "../../src/core/sinks/contract.js";
import { type Capability, type RuntimeInfo, SinkConfigError, type SinkPlugin } from "../../src/core/sinks/plugin.js";
import { SinkRegistry } from "../../src/core/sinks/registry.js";
import { waitUntil } from "./wait.js";

export interface SinkUnderTest {
  sink: NotificationSink;
  /** What the far end has received so far, when the sink can be observed (e.g. a subscriber); polled. */
  received?(): Promise<Array<{ topic: string; payload: unknown }>>;
  /** A variant of the sink whose far end refuses every notification, and the code its publish rejects with. */
  refusing?(): Promise<{ sink: NotificationSink; code: SinkErrorCode; cleanup(): Promise<void> }>;
  /** Makes the far end stop answering (publishes stay in flight); returns what undoes it. */
  stall?(): Promise<() => Promise<void>>;
  /** The plugin this sink comes from, with a URL and environment that reach the same far end. */
  registry?: {
    plugin: SinkPlugin;
    url: string;
    env: Record<string, string>;
    /** Whether the sink built from them delivers where `received()` looks. */
    observed: boolean;
    /** An environment the plugin must refuse, and the variable the one-line error must name. */
    invalid?: { env: Record<string, string>; variable: string };
  };
  cleanup(): Promise<void>;
}

export type SinkCapability = "refusing" | "stall" | "registry" | "invalidSettings";

export interface SinkConformanceOptions {
  name: string;
  create(): Promise<SinkUnderTest>;
  /** Capabilities the sink does not have, each with a one-line reason (shown in the skipped test's title). */
  lacks?: Partial<Record<SinkCapability, string>>;
}

/** Node's capabilities, as the Node entry point declares them. */
export const NODE_RUNTIME: RuntimeInfo = {
  name: "node",
  capabilities: new Set<Capability>(["tcp", "longLivedConnections", "filesystem"]),
};

/** Generous: a refused or closed publish settles in well under a second on an idle machine. */
const SETTLE_DEADLINE_MS = 15_000;

const note = (i: number) => ({
  topic: TOPICS.configs,
  payload: { filename: `00-00-00-00-00-${String(i).padStart(2, "0")}.json` },
});

/** A publish watched: its outcome once settled ("delivered", a SinkError's code, or "untyped: …"), readable synchronously. */
function watch(publish: Promise<void>): { outcome?: string } {
  const watched: { outcome?: string } = {};
  publish.then(
    () => {
      watched.outcome = "delivered";
    },
    (error: unknown) => {
      watched.outcome = isSinkError(error) ? error.code : `untyped: ${String(error)}`;
    },
  );
  return watched;
}

/** Waits until the far end has every one of the notes (a delivered message may still be on its way to an observer). */
async function receivedAll(sut: SinkUnderTest, notes: number[]): Promise<void> {
  const missing = async () => {
    const received = new Set((await sut.received?.())?.map((m) => JSON.stringify([m.topic, m.payload])));
    return notes.filter((i) => !received.has(JSON.stringify([TOPICS.configs, note(i).payload])));
  };
  await waitUntil("the far end to receive every notification", async () => (await missing()).length === 0).catch(
    async (error: Error) => {
      throw new Error(`${error.message}; missing: ${(await missing()).join(", ")}`);
    },
  );
}

function need<T>(capability: SinkCapability, value: T | undefined): T {
  if (value === undefined) {
    throw new Error(`the sink under test offers no "${capability}": provide it, or give the reason in \`lacks\``);
  }
  return value;
}

export function testSink(options: SinkConformanceOptions): void {
  /** A capability's test, or its skip with the reason in the title. */
  const capability = (name: SinkCapability, title: string, test: () => Promise<void>) => {
    const reason = options.lacks?.[name];
    if (reason) it.skip(`${title} (${reason})`, test);
    else it(title, test);
  };

  describe(`sink conformance: ${options.name}`, () => {
    let sut: SinkUnderTest;
    beforeEach(async () => {
      sut = await options.create();
    });
    afterEach(async () => {
      await sut.sink.close();
      await sut.cleanup();
    });

    it("has a short, stable name and a synchronous status", () => {
      expect(sut.sink.name).toMatch(/^[a-z][a-z0-9_-]*$/);
      const status = sut.sink.status();
      expect(typeof status.ready).toBe("boolean");
      expect(status.queueDepth).toBeGreaterThanOrEqual(0);
    });

    it("resolves a publish once delivered", async () => {
      await expect(sut.sink.publish(note(1))).resolves.toBeUndefined();
      if (sut.received) await receivedAll(sut, [1]);
    });

    it("resolves 20 concurrent publishes, each delivered", async () => {
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => sut.sink.publish(note(i))));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill("fulfilled"));
      if (sut.received)
        await receivedAll(
          sut,
          Array.from({ length: 20 }, (_, i) => i),
        );
      expect(sut.sink.status().queueDepth).toBe(0);
    });

    it("closes idempotently, then rejects publishes with a typed SINK_CLOSED", async () => {
      await sut.sink.close();
      await sut.sink.close();
      const error = await sut.sink.publish(note(2)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSinkError(error)).toBe(true);
      expect((error as { code: string }).code).toBe("SINK_CLOSED");
      expect(sut.sink.status().ready).toBe(false);
    });

    capability("refusing", "rejects with a typed SinkError when the far end refuses, never hangs", async () => {
      const refusing = await need("refusing", sut.refusing)();
      try {
        const publish = watch(refusing.sink.publish(note(3)));
        await waitUntil("the refused publish to settle", () => publish.outcome, SETTLE_DEADLINE_MS);
        expect(publish.outcome).toBe(refusing.code);
      } finally {
        await refusing.sink.close();
        await refusing.cleanup();
      }
    });

    capability("stall", "settles every publish in flight on close(), none left pending", async () => {
      const resume = await need("stall", sut.stall)();
      try {
        const publishes = Array.from({ length: 10 }, (_, i) => watch(sut.sink.publish(note(i))));
        // The sink holds them all now (some may be on the wire already); close while it does.
        expect(sut.sink.status().queueDepth).toBe(10);
        let closed = false;
        const closing = sut.sink.close().then(() => {
          closed = true;
        });
        const settled = () => publishes.filter((p) => p.outcome !== undefined).length;
        await waitUntil(
          "close() to finish and every publish to settle",
          () => closed && settled() === 10,
          SETTLE_DEADLINE_MS,
        ).catch((error: Error) => {
          throw new Error(
            `${error.message}; close() ${closed ? "done" : "pending"}, ${10 - settled()} publishes pending`,
          );
        });
        await closing;
        for (const { outcome } of publishes) expect(["delivered", "SINK_CLOSED"]).toContain(outcome);
        expect(sut.sink.status()).toEqual({ ready: false, queueDepth: 0 });
      } finally {
        await resume();
      }
    });

    capability("registry", "builds through the plugin registry and delivers", async () => {
      const { plugin, url, env, observed } = need("registry", sut.registry);
      const { sink } = await new SinkRegistry([plugin]).create({
        url: new URL(url),
        urlVariable: "NOTIFY_URL",
        env,
        logger: createMemoryLogger(),
        runtime: NODE_RUNTIME,
      });
      try {
        expect(sink.name).toBe(plugin.name);
        await expect(sink.publish(note(4))).resolves.toBeUndefined();
        if (observed && sut.received) await receivedAll(sut, [4]);
      } finally {
        await sink.close();
      }
    });

    capability("invalidSettings", "refuses invalid settings with one line naming the variable", async () => {
      const { plugin, url, invalid } = need("registry", sut.registry);
      const { env, variable } = need("invalidSettings", invalid);
      const error = await new SinkRegistry([plugin])
        .create({
          url: new URL(url),
          urlVariable: "NOTIFY_URL",
          env,
          logger: createMemoryLogger(),
          runtime: NODE_RUNTIME,
        })
        .then(
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
    });
  });
}
