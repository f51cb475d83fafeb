/**
 * Helpers for the rollout tests: a rollout engine over a real test app (filesystem or memory
 * storage, the app's configs, notifier and fleet records), configs and reports made through
 * the HTTP routes, and the rollout's records read straight from the state store (so a test
 * can count `release` events and see what a process wrote).
 */
import { createHash } from "node:crypto";
import type { DeviceOutcome, RolloutSpec, Rollouts } from "../../src/features/rollouts/contract.js";
import { createRollouts, type RolloutsOptions } from "../../src/features/rollouts/engine.js";
import { mergePatch } from "../../src/features/rollouts/merge-patch.js";
import { logNamespace } from "../../src/features/rollouts/rollout-records.js";
import type { TestApp } from "./app.js";
import { json } from "./http.js";

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
export const macs = (n: number, prefix = "aa-bb-cc-dd") =>
  Array.from(
    { length: n },
    (_, i) => `${prefix}-${(i >> 8).toString(16).padStart(2, "0")}-${(i & 255).toString(16).padStart(2, "0")}`,
  );

export const spec = (targets: RolloutSpec["targets"], overrides: Partial<RolloutSpec> = {}): RolloutSpec => ({
  name: "test rollout",
  patch: { firmware: { version: "2.0" } },
  targets,
  waves: [10, 50, 100],
  evidence: "report",
  advance_when: { applied_percent: 100, within_s: 600 },
  halt_when: { failed_percent: 50 },
  ...overrides,
});

export interface EngineHarness {
  engine: Rollouts;
  outcomes: Record<DeviceOutcome, number>;
  /** Shifts the engine's clock (time-outs) without touching the fleet records' clock. */
  shift(ms: number): void;
}

export function engineOver(
  t: TestApp,
  options: { processId?: string; driver?: RolloutsOptions["driver"] } = {},
): EngineHarness {
  const outcomes: Record<DeviceOutcome, number> = { released: 0, applied: 0, failed: 0, rolled_back: 0, skipped: 0 };
  let offset = 0;
  const engine = createRollouts({
    state: t.storage.state,
    storage: t.deps.storage,
    configs: t.deps.configs,
    notifier: t.deps.notifier,
    observer: t.deps.observer,
    logger: t.deps.logger,
    maxConfigBytes: t.settings.maxConfigBytes,
    mergePatch,
    records: t.deps.fleet.records,
    counted: (outcome, n) => {
      outcomes[outcome] += n;
    },
    now: () => Date.now() + offset,
    processId: options.processId,
    driver: options.driver,
  });
  return {
    engine,
    outcomes,
    shift(ms) {
      offset += ms;
    },
  };
}

export async function saveConfigs(
  t: TestApp,
  targets: string[],
  content: (mac: string) => Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  for (const mac of targets) {
    const res = await t.app.request(`/api/configs/${mac}`, json({ content: content(mac) }, headers));
    if (res.status !== 200) throw new Error(`PUT ${mac}: ${res.status} ${await res.text()}`);
  }
}

/** The bytes stored for `mac` now (as a device read serves them) and their ETag. */
export async function stored(t: TestApp, mac: string): Promise<{ text: string; etag: string }> {
  const res = await t.app.request(`/files/configs/${mac}.json`);
  const text = await res.text();
  return { text, etag: res.headers.get("etag") ?? "" };
}

export const report = (t: TestApp, mac: string, body: Record<string, unknown>) =>
  t.app.request(`/files/status/${mac}.json`, json(body));

/** The events of rollout `id` as stored, in order. */
export async function events(t: Pick<TestApp, "storage">, id: number): Promise<Array<Record<string, unknown>>> {
  const ns = logNamespace(id);
  const keys = (await t.storage.state.list(ns)).filter((k) => /^e\d{6}$/.test(k)).sort();
  const out: Array<Record<string, unknown>> = [];
  for (const key of keys) {
    const bytes = await t.storage.state.get(ns, key);
    try {
      out.push(JSON.parse(new TextDecoder().decode(bytes ?? new Uint8Array())) as Record<string, unknown>);
    } catch {
      out.push({ type: "damaged", key });
    }
  }
  return out;
}

/** Ticks until `done` holds (the background release of a wave is awaited this way), at most `tries` times. */
export async function tickUntil(h: EngineHarness, done: () => Promise<boolean>, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await done()) return;
    await h.engine.tick();
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("condition not reached");
}

export const released = (t: Pick<TestApp, "storage">, id: number, wave: number) => async () =>
  (await events(t, id)).some((e) => e.type === "released" && e.wave === wave);
