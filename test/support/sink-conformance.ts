/**
 * The sink conformance kit: every sink plugin's test calls `testSink(...)` in one line.
 * It checks the delivery contract of NotificationSink (src/core/sinks/contract.ts).
 *
 * Beyond the basics, a sink under test may offer capabilities (sink-under-test.ts): a far
 * end that refuses, a far end that stalls, a link that drops, a sink with a small queue
 * limit, and a plugin to build through the registry. A sink that lacks one says why in
 * `lacks`, and the checks needing it are skipped with that reason in their title; a
 * capability neither offered nor excused fails, so none is left out by accident.
 *
 * The checks themselves are plain functions (sink-checks.ts, sink-checks-far-end.ts), run
 * here one per test; `runCheck` runs one outside a test, which is how the kit's own tests
 * (test/sink-conformance-kit.test.ts) prove that each catches the bug it is there for.
 */
import { describe, it } from "vitest";
import { BASIC_CHECKS, type SinkCheck } from "./sink-checks.js";
import { FAR_END_CHECKS } from "./sink-checks-far-end.js";
import { type CheckContext, DEFAULT_CONTEXT, type SinkCapability, type SinkUnderTest } from "./sink-under-test.js";

export { NODE_RUNTIME } from "./sink-checks.js";
export type { Link, SinkCapability, SinkUnderTest, Stalled } from "./sink-under-test.js";

export const SINK_CHECKS = { ...BASIC_CHECKS, ...FAR_END_CHECKS } satisfies Record<string, SinkCheck>;

export type SinkCheckName = keyof typeof SINK_CHECKS;

export interface SinkConformanceOptions {
  name: string;
  create(): Promise<SinkUnderTest>;
  /** Capabilities the sink does not have, each with a one-line reason (shown in the skipped test's title). */
  lacks?: Partial<Record<SinkCapability, string>>;
}

/** Runs one check against a fresh sink under test, and closes and cleans it up whatever the outcome. */
export async function runCheck(
  check: SinkCheck,
  create: () => Promise<SinkUnderTest>,
  context: CheckContext = DEFAULT_CONTEXT,
): Promise<void> {
  const sut = await create();
  try {
    await check.run(sut, context);
  } finally {
    await sut.sink.close();
    await sut.cleanup();
  }
}

export function testSink(options: SinkConformanceOptions): void {
  describe(`sink conformance: ${options.name}`, () => {
    for (const check of Object.values(SINK_CHECKS) as SinkCheck[]) {
      const excused = check.needs.map((capability) => options.lacks?.[capability]).find(Boolean);
      if (excused) it.skip(`${check.title} (${excused})`, () => undefined);
      else it(check.title, () => runCheck(check, options.create));
    }
  });
}
